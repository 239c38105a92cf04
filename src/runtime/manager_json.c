/* Container manager: Docker's JSON shapes for inspect and list views. */
#include <string.h>

#include "runtime/manager_internal.h"

static void add_time(cJSON *o, const char *k, int64_t ns)
{
    char buf[64];
    if (ns <= 0)
        snprintf(buf, sizeof(buf), "0001-01-01T00:00:00Z");
    else
        berth_format_time_ns(ns, buf, sizeof(buf));
    cJSON_AddStringToObject(o, k, buf);
}

/* Path + Args the way Docker splits the merged Entrypoint/Cmd. */
static void path_args(const rt_ctr_t *c, const char **path, cJSON *args)
{
    *path = c->spec.process.n_args ? c->spec.process.args[0] : "";
    for (size_t i = 1; i < c->spec.process.n_args; i++)
        cJSON_AddItemToArray(args, cJSON_CreateString(c->spec.process.args[i]));
}

static cJSON *mounts_json(const rt_ctr_t *c)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < c->spec.n_mounts; i++) {
        const rt_mount_t *mt = &c->spec.mounts[i];
        cJSON *o = cJSON_CreateObject();
        bool tmpfs = mt->type == RT_MOUNT_TMPFS;
        const char *vol = strstr(mt->source ? mt->source : "", "/volumes/");
        bool is_vol = !tmpfs && vol && strstr(mt->source, c->m->data_root) == mt->source;
        cJSON_AddStringToObject(o, "Type", tmpfs ? "tmpfs" : is_vol ? "volume" : "bind");
        if (is_vol) {
            const char *n = vol + strlen("/volumes/");
            cJSON_AddItemToObject(o, "Name", cJSON_CreateString(strndupa(n, strcspn(n, "/"))));
            cJSON_AddStringToObject(o, "Driver", "local");
        }
        cJSON_AddStringToObject(o, "Source", mt->source ? mt->source : "");
        cJSON_AddStringToObject(o, "Destination", mt->destination);
        cJSON_AddStringToObject(o, "Mode", mt->readonly ? "ro" : "");
        cJSON_AddBoolToObject(o, "RW", !mt->readonly);
        cJSON_AddStringToObject(o, "Propagation", tmpfs || is_vol ? "" : "rprivate");
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *networks_json(const rt_ctr_t *c)
{
    cJSON *nets = cJSON_CreateObject();
    const char *nm = mgr_json_str(c->host_config, "NetworkMode");
    const char *key = !nm || !strcmp(nm, "default") ? "bridge" : nm;
    if (!strncmp(key, "container:", 10))
        return nets;
    cJSON *n = cJSON_AddObjectToObject(nets, key);
    cJSON_AddNullToObject(n, "IPAMConfig");
    cJSON_AddNullToObject(n, "Links");
    cJSON *al = cJSON_AddArrayToObject(n, "Aliases");
    if (strcmp(key, "bridge") && strcmp(key, "host") && strcmp(key, "none")) {
        char short_id[13];
        snprintf(short_id, sizeof(short_id), "%.12s", c->id);
        cJSON_AddItemToArray(al, cJSON_CreateString(short_id));
    }
    cJSON_AddStringToObject(n, "MacAddress", "");
    cJSON_AddStringToObject(n, "NetworkID", "");
    cJSON_AddStringToObject(n, "EndpointID", "");
    cJSON_AddStringToObject(n, "Gateway", "");
    cJSON_AddStringToObject(n, "IPAddress", "");
    cJSON_AddNumberToObject(n, "IPPrefixLen", 0);
    cJSON_AddStringToObject(n, "IPv6Gateway", "");
    cJSON_AddStringToObject(n, "GlobalIPv6Address", "");
    cJSON_AddNumberToObject(n, "GlobalIPv6PrefixLen", 0);
    cJSON_AddNullToObject(n, "DriverOpts");
    cJSON_AddNullToObject(n, "DNSNames");
    return nets;
}

static const char *state_status(const rt_ctr_t *c)
{
    /* A container that never ran and is not starting is "created". */
    if (c->status == RT_CTR_EXITED && !c->has_been_started && !c->error)
        return "created";
    return rt_ctr_status_name(c->status);
}

cJSON *rt_ctr_inspect_json(const rt_ctr_t *c, bool size)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Id", c->id);
    add_time(o, "Created", c->created_ns);
    const char *path;
    cJSON *args = cJSON_CreateArray();
    path_args(c, &path, args);
    cJSON_AddStringToObject(o, "Path", path);
    cJSON_AddItemToObject(o, "Args", args);

    cJSON *st = cJSON_AddObjectToObject(o, "State");
    cJSON_AddStringToObject(st, "Status", state_status(c));
    cJSON_AddBoolToObject(st, "Running", rt_ctr_is_running(c) && c->status != RT_CTR_RESTARTING);
    cJSON_AddBoolToObject(st, "Paused", c->status == RT_CTR_PAUSED);
    cJSON_AddBoolToObject(st, "Restarting", c->status == RT_CTR_RESTARTING);
    cJSON_AddBoolToObject(st, "OOMKilled", c->oom_killed);
    cJSON_AddBoolToObject(st, "Dead", c->status == RT_CTR_DEAD);
    cJSON_AddNumberToObject(st, "Pid", rt_ctr_pid(c));
    cJSON_AddNumberToObject(st, "ExitCode", c->exit_code);
    cJSON_AddStringToObject(st, "Error", c->error ? c->error : "");
    add_time(st, "StartedAt", c->started_ns);
    add_time(st, "FinishedAt", c->finished_ns);

    cJSON_AddStringToObject(o, "Image", c->image_id);
    /* The shim writes them in the run dir at every start (shim.c). */
    const char *etc_dir = c->spec.run_dir ? c->spec.run_dir : c->dir;
    cleanup_free char *rc = xasprintf("%s/resolv.conf", etc_dir);
    cleanup_free char *hn = xasprintf("%s/hostname", etc_dir);
    cleanup_free char *hs = xasprintf("%s/hosts", etc_dir);
    cJSON_AddStringToObject(o, "ResolvConfPath", rc);
    cJSON_AddStringToObject(o, "HostnamePath", hn);
    cJSON_AddStringToObject(o, "HostsPath", hs);
    cJSON_AddStringToObject(o, "LogPath", c->spec.log_path ? c->spec.log_path : "");
    cleanup_free char *name = xasprintf("/%s", c->name);
    cJSON_AddStringToObject(o, "Name", name);
    cJSON_AddNumberToObject(o, "RestartCount", c->restart_count);
    cJSON_AddStringToObject(o, "Driver", "overlay2");
    cJSON_AddStringToObject(o, "Platform", "linux");
    cJSON_AddStringToObject(o, "MountLabel", "");
    cJSON_AddStringToObject(o, "ProcessLabel", "");
    cJSON_AddStringToObject(o, "AppArmorProfile", "");
    cJSON_AddNullToObject(o, "ExecIDs");
    cJSON *ids = NULL;
    for (struct rt_exec *x = c->m->execs; x; x = x->next)
        if (!strcmp(x->ctr_id, c->id) && x->running) {
            if (!ids)
                ids = cJSON_CreateArray();
            cJSON_AddItemToArray(ids, cJSON_CreateString(x->id));
        }
    if (ids)
        cJSON_ReplaceItemInObjectCaseSensitive(o, "ExecIDs", ids);
    cJSON *hc = cJSON_Duplicate(c->host_config, true);
    static const char *const hc_arrays[] = {"Binds",      "CapAdd",      "CapDrop",    "Dns",
                                            "DnsOptions", "DnsSearch",   "ExtraHosts", "GroupAdd",
                                            "Links",      "SecurityOpt", "Ulimits",    "Devices"};
    for (size_t i = 0; i < ARRAY_SIZE(hc_arrays); i++)
        if (!cJSON_HasObjectItem(hc, hc_arrays[i]))
            cJSON_AddNullToObject(hc, hc_arrays[i]);
    static const char *const hc_nums[] = {"Memory",    "MemorySwap",       "NanoCpus",
                                          "CpuShares", "CpuQuota",         "CpuPeriod",
                                          "ShmSize",   "MemoryReservation"};
    for (size_t i = 0; i < ARRAY_SIZE(hc_nums); i++)
        if (!cJSON_HasObjectItem(hc, hc_nums[i]))
            cJSON_AddNumberToObject(hc, hc_nums[i], 0);
    if (!cJSON_HasObjectItem(hc, "PidsLimit"))
        cJSON_AddNullToObject(hc, "PidsLimit");
    static const char *const hc_bools[] = {"AutoRemove", "Privileged", "ReadonlyRootfs",
                                           "PublishAllPorts"};
    for (size_t i = 0; i < ARRAY_SIZE(hc_bools); i++)
        if (!cJSON_HasObjectItem(hc, hc_bools[i]))
            cJSON_AddFalseToObject(hc, hc_bools[i]);
    if (!cJSON_HasObjectItem(hc, "CpusetCpus"))
        cJSON_AddStringToObject(hc, "CpusetCpus", "");
    if (!cJSON_HasObjectItem(hc, "PortBindings"))
        cJSON_AddObjectToObject(hc, "PortBindings");
    cJSON_AddItemToObject(o, "HostConfig", hc);
    cJSON *gd = cJSON_AddObjectToObject(o, "GraphDriver");
    cJSON_AddStringToObject(gd, "Name", "overlay2");
    cJSON *gdd = cJSON_AddObjectToObject(gd, "Data");
    cJSON_AddStringToObject(gdd, "UpperDir", c->spec.upperdir ? c->spec.upperdir : "");
    cJSON_AddStringToObject(gdd, "WorkDir", c->spec.workdir ? c->spec.workdir : "");
    cJSON_AddStringToObject(gdd, "MergedDir", c->spec.rootfs ? c->spec.rootfs : "");
    if (size) {
        cJSON_AddNumberToObject(o, "SizeRw", 0);
        cJSON_AddNumberToObject(o, "SizeRootFs", 0);
    }
    cJSON_AddItemToObject(o, "Mounts", mounts_json(c));
    cJSON *cfg = cJSON_Duplicate(c->config, true);
    if (!cJSON_HasObjectItem(cfg, "ExposedPorts"))
        cJSON_AddNullToObject(cfg, "ExposedPorts");
    if (!cJSON_HasObjectItem(cfg, "Volumes"))
        cJSON_AddNullToObject(cfg, "Volumes");
    if (!cJSON_HasObjectItem(cfg, "OnBuild"))
        cJSON_AddNullToObject(cfg, "OnBuild");
    cJSON_AddItemToObject(o, "Config", cfg);
    cJSON *ns = cJSON_AddObjectToObject(o, "NetworkSettings");
    cJSON_AddStringToObject(ns, "Bridge", "");
    cJSON_AddStringToObject(ns, "SandboxID", "");
    cJSON_AddBoolToObject(ns, "HairpinMode", false);
    cJSON_AddStringToObject(ns, "SandboxKey", "");
    cJSON_AddObjectToObject(ns, "Ports");
    cJSON_AddStringToObject(ns, "Gateway", "");
    cJSON_AddStringToObject(ns, "IPAddress", "");
    cJSON_AddNumberToObject(ns, "IPPrefixLen", 0);
    cJSON_AddStringToObject(ns, "MacAddress", "");
    cJSON_AddItemToObject(ns, "Networks", networks_json(c));
    return o;
}

/* docker ps "Status": Up 3 seconds, Exited (0) 2 minutes ago, Created ... */
static void status_text(const rt_ctr_t *c, char *out, size_t len)
{
    char dur[64];
    int64_t now = berth_now_ns();
    switch (c->status) {
    case RT_CTR_RUNNING:
    case RT_CTR_PAUSED:
        berth_human_duration((now - c->started_ns) / 1000000000, dur, sizeof(dur));
        snprintf(out, len, "Up %s%s", dur, c->status == RT_CTR_PAUSED ? " (Paused)" : "");
        break;
    case RT_CTR_RESTARTING:
        berth_human_duration((now - c->finished_ns) / 1000000000, dur, sizeof(dur));
        snprintf(out, len, "Restarting (%d) %s ago", c->exit_code, dur);
        break;
    case RT_CTR_REMOVING:
        snprintf(out, len, "Removal In Progress");
        break;
    case RT_CTR_DEAD:
        snprintf(out, len, "Dead");
        break;
    default:
        if (!strcmp(state_status(c), "created")) {
            snprintf(out, len, "Created");
        } else {
            berth_human_duration((now - c->finished_ns) / 1000000000, dur, sizeof(dur));
            snprintf(out, len, "Exited (%d) %s ago", c->exit_code, dur);
        }
    }
}

cJSON *rt_ctr_summary_json(const rt_ctr_t *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Id", c->id);
    cJSON *names = cJSON_AddArrayToObject(o, "Names");
    cleanup_free char *name = xasprintf("/%s", c->name);
    cJSON_AddItemToArray(names, cJSON_CreateString(name));
    cJSON_AddStringToObject(o, "Image", c->image_name ? c->image_name : c->image_id);
    cJSON_AddStringToObject(o, "ImageID", c->image_id);
    berth_buf_t cmd;
    buf_init(&cmd);
    for (size_t i = 0; i < c->spec.process.n_args; i++)
        buf_printf(&cmd, "%s%s", i ? " " : "", c->spec.process.args[i]);
    cJSON_AddStringToObject(o, "Command", cmd.data ? cmd.data : "");
    buf_free(&cmd);
    cJSON_AddNumberToObject(o, "Created", (double)(c->created_ns / 1000000000));
    cJSON_AddArrayToObject(o, "Ports");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(c->config, "Labels");
    cJSON_AddItemToObject(o, "Labels",
                          labels ? cJSON_Duplicate(labels, true) : cJSON_CreateObject());
    cJSON_AddStringToObject(o, "State", state_status(c));
    char st[128];
    status_text(c, st, sizeof(st));
    cJSON_AddStringToObject(o, "Status", st);
    cJSON *hc = cJSON_AddObjectToObject(o, "HostConfig");
    const char *nm = mgr_json_str(c->host_config, "NetworkMode");
    cJSON_AddStringToObject(hc, "NetworkMode", nm ? nm : "default");
    cJSON *ns = cJSON_AddObjectToObject(o, "NetworkSettings");
    cJSON_AddItemToObject(ns, "Networks", networks_json(c));
    cJSON_AddItemToObject(o, "Mounts", mounts_json(c));
    return o;
}

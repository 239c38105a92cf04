/* System routes: /_ping, /version, /info. */
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "api/internal.h"
#include "berth/containers.h"
#include "berth/image.h"

#define PING_HEADERS                                                                               \
    "Builder-Version: 1\r\nSwarm: inactive\r\nCache-Control: no-cache, no-store, "                 \
    "must-revalidate\r\nPragma: no-cache\r\n"

static void ping_handler(berthd_t *d, http_req_t *req)
{
    (void)d;
    /* HEAD gets an empty body and Content-Length: 0 (not the length of "OK"). */
    if (strcmp(req->method_name, "HEAD") == 0)
        http_reply(req, 200, "text/plain; charset=utf-8", NULL, 0, PING_HEADERS);
    else
        http_reply(req, 200, "text/plain; charset=utf-8", "OK", 2, PING_HEADERS);
}

static const char *go_arch(const char *machine)
{
    if (strcmp(machine, "x86_64") == 0)
        return "amd64";
    if (strcmp(machine, "aarch64") == 0)
        return "arm64";
    if (strncmp(machine, "armv7", 5) == 0)
        return "arm";
    if (strcmp(machine, "i686") == 0 || strcmp(machine, "i386") == 0)
        return "386";
    return machine;
}

static void version_handler(berthd_t *d, http_req_t *req)
{
    (void)d;
    struct utsname u;
    if (uname(&u) < 0)
        memset(&u, 0, sizeof(u));
    const char *arch = go_arch(u.machine);
    cJSON *o = cJSON_CreateObject();
    cJSON *platform = cJSON_AddObjectToObject(o, "Platform");
    cJSON_AddStringToObject(platform, "Name", "berth Engine");
    cJSON *components = cJSON_AddArrayToObject(o, "Components");
    cJSON *engine = cJSON_CreateObject();
    cJSON_AddStringToObject(engine, "Name", "Engine");
    cJSON_AddStringToObject(engine, "Version", BERTH_VERSION);
    cJSON *details = cJSON_AddObjectToObject(engine, "Details");
    cJSON_AddStringToObject(details, "ApiVersion", BERTH_API_VERSION);
    cJSON_AddStringToObject(details, "Arch", arch);
    cJSON_AddStringToObject(details, "BuildTime", __DATE__ " " __TIME__);
    cJSON_AddStringToObject(details, "Experimental", "false");
    cJSON_AddStringToObject(details, "GitCommit", "berth");
    cJSON_AddStringToObject(details, "GoVersion", "n/a (C11)");
    cJSON_AddStringToObject(details, "KernelVersion", u.release);
    cJSON_AddStringToObject(details, "MinAPIVersion", BERTH_API_MIN_VERSION);
    cJSON_AddStringToObject(details, "Os", "linux");
    cJSON_AddItemToArray(components, engine);
    cJSON_AddStringToObject(o, "Version", BERTH_VERSION);
    cJSON_AddStringToObject(o, "ApiVersion", BERTH_API_VERSION);
    cJSON_AddStringToObject(o, "MinAPIVersion", BERTH_API_MIN_VERSION);
    cJSON_AddStringToObject(o, "GitCommit", "berth");
    cJSON_AddStringToObject(o, "GoVersion", "n/a (C11)");
    cJSON_AddStringToObject(o, "Os", "linux");
    cJSON_AddStringToObject(o, "Arch", arch);
    cJSON_AddStringToObject(o, "KernelVersion", u.release);
    cJSON_AddBoolToObject(o, "Experimental", false);
    cJSON_AddStringToObject(o, "BuildTime", __DATE__ " " __TIME__);
    http_reply_json(req, 200, o);
}

void api_system_counts(berthd_t *d, api_counts_t *out)
{
    memset(out, 0, sizeof(*out));
    if (d->images)
        out->images = (int)img_store_count(d->images);
    if (d->containers) {
        size_t running = 0, paused = 0, stopped = 0;
        out->containers = (int)rt_manager_count(d->containers, &running, &paused, &stopped);
        out->running = (int)running;
        out->paused = (int)paused;
        out->stopped = (int)stopped;
    }
}

/* PRETTY_NAME from os-release (a few hundred bytes from /etc). */
static char *os_pretty_name(void)
{
    char *text = NULL;
    size_t len = 0;
    if (fs_read_file("/etc/os-release", 64 * 1024, &text, &len) < 0 &&
        fs_read_file("/usr/lib/os-release", 64 * 1024, &text, &len) < 0)
        return xstrdup("Linux");
    char *out = NULL;
    char *line = strstr(text, "PRETTY_NAME=");
    if (line && (line == text || line[-1] == '\n')) {
        line += strlen("PRETTY_NAME=");
        size_t n = strcspn(line, "\n");
        if (n >= 2 && line[0] == '"' && line[n - 1] == '"')
            out = xstrndup(line + 1, n - 2);
        else
            out = xstrndup(line, n);
    }
    free(text);
    return out ? out : xstrdup("Linux");
}

static void info_handler(berthd_t *d, http_req_t *req)
{
    struct utsname u;
    if (uname(&u) < 0)
        memset(&u, 0, sizeof(u));
    struct sysinfo si;
    long long mem_total = 0;
    if (sysinfo(&si) == 0)
        mem_total = (long long)si.totalram * si.mem_unit;
    api_counts_t counts;
    api_system_counts(d, &counts);
    char now[48];
    berth_format_time_ns(berth_now_ns(), now, sizeof(now));
    char *os_name = os_pretty_name();
    bool cgroup2 = fs_exists("/sys/fs/cgroup/cgroup.controllers");

    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ID", d->id);
    cJSON_AddNumberToObject(o, "Containers", counts.containers);
    cJSON_AddNumberToObject(o, "ContainersRunning", counts.running);
    cJSON_AddNumberToObject(o, "ContainersPaused", counts.paused);
    cJSON_AddNumberToObject(o, "ContainersStopped", counts.stopped);
    cJSON_AddNumberToObject(o, "Images", counts.images);
    cJSON_AddStringToObject(o, "Driver", "overlay2");
    cJSON *status = cJSON_AddArrayToObject(o, "DriverStatus");
    cJSON *row = cJSON_CreateArray();
    cJSON_AddItemToArray(row, cJSON_CreateString("Backing Filesystem"));
    cJSON_AddItemToArray(row, cJSON_CreateString("extfs"));
    cJSON_AddItemToArray(status, row);
    cJSON *plugins = cJSON_AddObjectToObject(o, "Plugins");
    cJSON *vol = cJSON_AddArrayToObject(plugins, "Volume");
    cJSON_AddItemToArray(vol, cJSON_CreateString("local"));
    cJSON *net = cJSON_AddArrayToObject(plugins, "Network");
    cJSON_AddItemToArray(net, cJSON_CreateString("bridge"));
    cJSON_AddItemToArray(net, cJSON_CreateString("host"));
    cJSON_AddItemToArray(net, cJSON_CreateString("null"));
    cJSON *logp = cJSON_AddArrayToObject(plugins, "Log");
    cJSON_AddItemToArray(logp, cJSON_CreateString("json-file"));
    cJSON_AddBoolToObject(o, "MemoryLimit", true);
    cJSON_AddBoolToObject(o, "SwapLimit", false);
    cJSON_AddBoolToObject(o, "CpuCfsPeriod", true);
    cJSON_AddBoolToObject(o, "CpuCfsQuota", true);
    cJSON_AddBoolToObject(o, "CPUShares", true);
    cJSON_AddBoolToObject(o, "CPUSet", true);
    cJSON_AddBoolToObject(o, "PidsLimit", true);
    cJSON_AddBoolToObject(o, "IPv4Forwarding", true);
    cJSON_AddBoolToObject(o, "Debug", false);
    cJSON_AddNumberToObject(o, "NFd", 0);
    cJSON_AddBoolToObject(o, "OomKillDisable", false);
    cJSON_AddNumberToObject(o, "NGoroutines", 1);
    cJSON_AddStringToObject(o, "SystemTime", now);
    cJSON_AddStringToObject(o, "LoggingDriver", "json-file");
    cJSON_AddStringToObject(o, "CgroupDriver", "cgroupfs");
    cJSON_AddStringToObject(o, "CgroupVersion", cgroup2 ? "2" : "1");
    cJSON_AddNumberToObject(o, "NEventsListener", (double)api_events_listeners(d->events));
    cJSON_AddStringToObject(o, "KernelVersion", u.release);
    cJSON_AddStringToObject(o, "OperatingSystem", os_name);
    cJSON_AddStringToObject(o, "OSVersion", "");
    cJSON_AddStringToObject(o, "OSType", "linux");
    cJSON_AddStringToObject(o, "Architecture", u.machine);
    cJSON_AddStringToObject(o, "IndexServerAddress", "https://index.docker.io/v1/");
    cJSON *reg = cJSON_AddObjectToObject(o, "RegistryConfig");
    cJSON *cidrs = cJSON_AddArrayToObject(reg, "InsecureRegistryCIDRs");
    cJSON_AddItemToArray(cidrs, cJSON_CreateString("127.0.0.0/8"));
    cJSON *idx = cJSON_AddObjectToObject(reg, "IndexConfigs");
    for (size_t i = 0; i < d->cfg.n_insecure_registries; i++) {
        cJSON *ic = cJSON_AddObjectToObject(idx, d->cfg.insecure_registries[i]);
        cJSON_AddStringToObject(ic, "Name", d->cfg.insecure_registries[i]);
        cJSON_AddArrayToObject(ic, "Mirrors");
        cJSON_AddBoolToObject(ic, "Secure", false);
        cJSON_AddBoolToObject(ic, "Official", false);
    }
    cJSON_AddArrayToObject(reg, "Mirrors");
    cJSON_AddNumberToObject(o, "NCPU", (double)sysconf(_SC_NPROCESSORS_ONLN));
    cJSON_AddNumberToObject(o, "MemTotal", (double)mem_total);
    cJSON_AddStringToObject(o, "DockerRootDir", d->cfg.data_root ? d->cfg.data_root : "");
    cJSON_AddStringToObject(o, "HttpProxy", "");
    cJSON_AddStringToObject(o, "HttpsProxy", "");
    cJSON_AddStringToObject(o, "NoProxy", "");
    cJSON_AddStringToObject(o, "Name", u.nodename);
    cJSON_AddArrayToObject(o, "Labels");
    cJSON_AddBoolToObject(o, "ExperimentalBuild", false);
    cJSON_AddStringToObject(o, "ServerVersion", BERTH_VERSION);
    cJSON *runtimes = cJSON_AddObjectToObject(o, "Runtimes");
    cJSON *rt = cJSON_AddObjectToObject(runtimes, "berth");
    cJSON_AddStringToObject(rt, "path", "berth-shim");
    cJSON_AddStringToObject(o, "DefaultRuntime", "berth");
    cJSON *swarm = cJSON_AddObjectToObject(o, "Swarm");
    cJSON_AddStringToObject(swarm, "NodeID", "");
    cJSON_AddStringToObject(swarm, "NodeAddr", "");
    cJSON_AddStringToObject(swarm, "LocalNodeState", "inactive");
    cJSON_AddBoolToObject(swarm, "ControlAvailable", false);
    cJSON_AddStringToObject(swarm, "Error", "");
    cJSON_AddNullToObject(swarm, "RemoteManagers");
    cJSON_AddBoolToObject(o, "LiveRestoreEnabled", true);
    cJSON_AddStringToObject(o, "Isolation", "");
    cJSON_AddStringToObject(o, "InitBinary", "");
    cJSON *sec = cJSON_AddArrayToObject(o, "SecurityOptions");
    cJSON_AddItemToArray(sec, cJSON_CreateString("name=seccomp,profile=builtin"));
    if (cgroup2)
        cJSON_AddItemToArray(sec, cJSON_CreateString("name=cgroupns"));
    cJSON_AddArrayToObject(o, "Warnings");
    free(os_name);
    http_reply_json(req, 200, o);
}

void api_system_routes(api_router_t *r)
{
    api_route(r, "GET", "/_ping", ping_handler, 0);
    api_route(r, "HEAD", "/_ping", ping_handler, 0);
    api_route(r, "GET", "/version", version_handler, 0);
    api_route(r, "GET", "/info", info_handler, 0);
    api_events_routes(r);
}

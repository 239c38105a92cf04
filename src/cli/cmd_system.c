/* System commands: version, info. */
#include <ctype.h>
#include <string.h>
#include <sys/utsname.h>

#include "cli/internal.h"

#define jstr cli_jstr

static long long jnum(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

static cJSON *client_version_json(void)
{
    struct utsname u;
    uname(&u);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "Version", BERTH_VERSION);
    cJSON_AddStringToObject(j, "ApiVersion", BERTH_API_VERSION);
    cJSON_AddStringToObject(j, "DefaultAPIVersion", BERTH_API_VERSION);
    cJSON_AddStringToObject(j, "GitCommit", "");
    cJSON_AddStringToObject(j, "GoVersion", "C11");
    cJSON_AddStringToObject(j, "Os", "linux");
    cJSON_AddStringToObject(j, "Arch",
                            !strcmp(u.machine, "x86_64")    ? "amd64"
                            : !strcmp(u.machine, "aarch64") ? "arm64"
                                                            : u.machine);
    cJSON_AddStringToObject(j, "BuildTime", __DATE__ " " __TIME__);
    cJSON_AddStringToObject(j, "Context", "default");
    return j;
}

int cli_cmd_version(cli_t *cli, int argc, char **argv)
{
    const char *format = NULL;
    cli_flag_t flags[] = {
        {'f', "format", CLI_FLAG_STRING, &format, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "version", "[OPTIONS]", flags, argc, argv, true, &npos, &pos, &rc))
        return rc;
    free(pos);
    cJSON *all = cJSON_CreateObject();
    cJSON *cl = client_version_json();
    cJSON_AddItemToObject(all, "Client", cl);
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    cJSON *srv = NULL;
    int got = c ? client_json(c, "GET", "/version", NULL, &srv, NULL, &err) : -1;
    if (got == 0 && srv)
        cJSON_AddItemToObject(all, "Server", srv);
    if (format && *format) {
        char *s = !strcmp(format, "json") ? cli_json_sorted(all) : cli_template_render(format, all);
        fprintf(cli->out, "%s\n", s);
        free(s);
    } else {
        fprintf(cli->out,
                "Client:\n Version:           %s\n API version:       %s\n Go version:        %s\n"
                " Git commit:        %s\n Built:             %s\n OS/Arch:           %s/%s\n"
                " Context:           %s\n",
                jstr(cl, "Version"), jstr(cl, "ApiVersion"), jstr(cl, "GoVersion"),
                jstr(cl, "GitCommit"), jstr(cl, "BuildTime"), jstr(cl, "Os"), jstr(cl, "Arch"),
                jstr(cl, "Context"));
        if (srv) {
            const cJSON *plat = cJSON_GetObjectItemCaseSensitive(srv, "Platform");
            const cJSON *exp = cJSON_GetObjectItemCaseSensitive(srv, "Experimental");
            fprintf(cli->out,
                    "\nServer: %s\n Engine:\n  Version:          %s\n  API version:      %s "
                    "(minimum version %s)\n  Go version:       %s\n  Git commit:       %s\n"
                    "  Built:            %s\n  OS/Arch:          %s/%s\n"
                    "  Experimental:     %s\n",
                    jstr(plat, "Name"), jstr(srv, "Version"), jstr(srv, "ApiVersion"),
                    jstr(srv, "MinAPIVersion"), jstr(srv, "GoVersion"), jstr(srv, "GitCommit"),
                    jstr(srv, "BuildTime"), jstr(srv, "Os"), jstr(srv, "Arch"),
                    cJSON_IsTrue(exp) ? "true" : "false");
            const cJSON *comp;
            cJSON_ArrayForEach(comp, cJSON_GetObjectItemCaseSensitive(srv, "Components"))
            {
                if (!strcmp(jstr(comp, "Name"), "Engine"))
                    continue;
                fprintf(cli->out, " %s:\n  Version:          %s\n", jstr(comp, "Name"),
                        jstr(comp, "Version"));
            }
        }
    }
    fflush(cli->out);
    cJSON_Delete(all);
    if (got < 0) {
        cli_print_err(cli, &err);
        return 1;
    }
    return 0;
}

int cli_cmd_info(cli_t *cli, int argc, char **argv)
{
    const char *format = NULL;
    cli_flag_t flags[] = {
        {'f', "format", CLI_FLAG_STRING, &format, false},
        CLI_FLAGS_END,
    };
    int npos, rc = 1;
    char **pos;
    if (!cli_parse(cli, "info", "[OPTIONS]", flags, argc, argv, true, &npos, &pos, &rc))
        return rc;
    free(pos);
    berth_err_t err = {0};
    client_t *c = cli_client(cli, &err);
    cJSON *info = NULL;
    if (!c || client_json(c, "GET", "/info", NULL, &info, NULL, &err) < 0 || !info) {
        if (!format || !*format)
            fprintf(cli->out,
                    "Client:\n Version:    %s\n Context:    default\n Debug Mode: "
                    "false\n\nServer:\n",
                    BERTH_VERSION);
        fflush(cli->out);
        if (berth_err_isset(&err))
            cli_print_err(cli, &err);
        return 1;
    }
    if (format && *format) {
        char *s =
            !strcmp(format, "json") ? cli_json_sorted(info) : cli_template_render(format, info);
        fprintf(cli->out, "%s\n", s);
        free(s);
        cJSON_Delete(info);
        return 0;
    }
    char mem[32];
    cli_human_size_binary((double)jnum(info, "MemTotal"), mem, sizeof(mem));
    const cJSON *dbg = cJSON_GetObjectItemCaseSensitive(info, "Debug");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(info, "ExperimentalBuild");
    const cJSON *live = cJSON_GetObjectItemCaseSensitive(info, "LiveRestoreEnabled");
    FILE *o = cli->out;
    fprintf(o, "Client:\n Version:    %s\n Context:    default\n Debug Mode: false\n\n",
            BERTH_VERSION);
    fprintf(o,
            "Server:\n Containers: %lld\n  Running: %lld\n  Paused: %lld\n  Stopped: %lld\n"
            " Images: %lld\n Server Version: %s\n Storage Driver: %s\n",
            jnum(info, "Containers"), jnum(info, "ContainersRunning"),
            jnum(info, "ContainersPaused"), jnum(info, "ContainersStopped"), jnum(info, "Images"),
            jstr(info, "ServerVersion"), jstr(info, "Driver"));
    const cJSON *pair;
    cJSON_ArrayForEach(pair, cJSON_GetObjectItemCaseSensitive(info, "DriverStatus"))
    {
        const cJSON *k = cJSON_GetArrayItem(pair, 0), *v = cJSON_GetArrayItem(pair, 1);
        if (cJSON_IsString(k) && cJSON_IsString(v))
            fprintf(o, "  %s: %s\n", k->valuestring, v->valuestring);
    }
    fprintf(o, " Logging Driver: %s\n Cgroup Driver: %s\n Cgroup Version: %s\n",
            jstr(info, "LoggingDriver"), jstr(info, "CgroupDriver"), jstr(info, "CgroupVersion"));
    const cJSON *plugins = cJSON_GetObjectItemCaseSensitive(info, "Plugins");
    if (cJSON_IsObject(plugins)) {
        fprintf(o, " Plugins:\n");
        static const char *kinds[] = {"Volume", "Network", "Authorization", "Log"};
        for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
            const cJSON *list = cJSON_GetObjectItemCaseSensitive(plugins, kinds[i]);
            if (cJSON_GetArraySize(list) == 0)
                continue;
            fprintf(o, "  %s:", kinds[i]);
            const cJSON *it;
            cJSON_ArrayForEach(it, list) if (cJSON_IsString(it)) fprintf(o, " %s", it->valuestring);
            fprintf(o, "\n");
        }
    }
    const cJSON *swarm = cJSON_GetObjectItemCaseSensitive(info, "Swarm");
    const char *sstate = jstr(swarm, "LocalNodeState");
    fprintf(o, " Swarm: %s\n", *sstate ? sstate : "inactive");
    const cJSON *runtimes = cJSON_GetObjectItemCaseSensitive(info, "Runtimes");
    if (cJSON_IsObject(runtimes)) {
        fprintf(o, " Runtimes:");
        const cJSON *r;
        cJSON_ArrayForEach(r, runtimes) fprintf(o, " %s", r->string);
        fprintf(o, "\n Default Runtime: %s\n", jstr(info, "DefaultRuntime"));
    }
    const cJSON *secopts = cJSON_GetObjectItemCaseSensitive(info, "SecurityOptions");
    if (cJSON_GetArraySize(secopts) > 0) {
        fprintf(o, " Security Options:\n");
        const cJSON *s;
        cJSON_ArrayForEach(s, secopts)
        {
            if (!cJSON_IsString(s))
                continue;
            /* "name=seccomp,profile=builtin" -> "seccomp" + "Profile: builtin" */
            cleanup_free char *copy = xstrdup(s->valuestring);
            for (char *kv = strtok(copy, ","); kv; kv = strtok(NULL, ",")) {
                char *eq = strchr(kv, '=');
                if (!eq) {
                    fprintf(o, "  %s\n", kv);
                    continue;
                }
                *eq = '\0';
                if (!strcmp(kv, "name"))
                    fprintf(o, "  %s\n", eq + 1);
                else
                    fprintf(o, "   %c%s: %s\n", toupper((unsigned char)kv[0]), kv + 1, eq + 1);
            }
        }
    }
    fprintf(o,
            " Kernel Version: %s\n Operating System: %s\n OSType: %s\n Architecture: %s\n"
            " CPUs: %lld\n Total Memory: %s\n Name: %s\n ID: %s\n Docker Root Dir: %s\n"
            " Debug Mode: %s\n Experimental: %s\n",
            jstr(info, "KernelVersion"), jstr(info, "OperatingSystem"), jstr(info, "OSType"),
            jstr(info, "Architecture"), jnum(info, "NCPU"), mem, jstr(info, "Name"),
            jstr(info, "ID"), jstr(info, "DockerRootDir"), cJSON_IsTrue(dbg) ? "true" : "false",
            cJSON_IsTrue(exp) ? "true" : "false");
    const cJSON *insecure = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(info, "RegistryConfig"), "InsecureRegistryCIDRs");
    if (cJSON_GetArraySize(insecure) > 0) {
        fprintf(o, " Insecure Registries:\n");
        const cJSON *it;
        cJSON_ArrayForEach(it, insecure) if (cJSON_IsString(it))
            fprintf(o, "  %s\n", it->valuestring);
    }
    fprintf(o, " Live Restore Enabled: %s\n\n", cJSON_IsTrue(live) ? "true" : "false");
    const cJSON *warn;
    bool first = true;
    cJSON_ArrayForEach(warn, cJSON_GetObjectItemCaseSensitive(info, "Warnings"))
    {
        if (!cJSON_IsString(warn))
            continue;
        if (first)
            fprintf(o, "\n");
        first = false;
        fprintf(cli->err, "%s\n", warn->valuestring);
    }
    cJSON_Delete(info);
    return 0;
}

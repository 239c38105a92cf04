/* Helper side of image jobs: berth-imagejob's dispatch and the small
 * functions its child code uses to report. Only the helper links this file
 * (berthd references nothing here), which keeps the unpack/tar code and
 * libarchive out of the daemon. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "image/internal.h"

static int rm_child(img_store_t *s, const cJSON *args, int in_fd, int out_fd, int res_fd)
{
    UNUSED(s);
    UNUSED(in_fd);
    UNUSED(out_fd);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(args, "path");
    if (cJSON_IsString(p))
        fs_rm_rf(p->valuestring);
    img_job_child_result(res_fd, cJSON_CreateObject());
    return 0;
}

static const struct {
    const char *kind;
    img_child_fn fn;
} kinds[] = {
    {"ingest", img_ingest_child}, {"load", img_load_child},       {"save", img_save_child},
    {"export", img_export_child}, {"default", img_default_child}, {"rm", rm_child},
};

int img_job_child_main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: berth-imagejob <kind> <image root> <args JSON> <parent pid>\n"
                        "(started by berthd; not meant to be run by hand)\n");
        return 2;
    }
    /* Die with berthd: a helper outliving a kill -9 could write into tmp/
     * while the next daemon cleans it. Set after exec, so re-check the parent. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != (pid_t)atoi(argv[4]))
        return 1;
    /* Bulk work yields the CPU to the daemon's loop (2-core machines). */
    if (nice(10) < 0) {
        /* best effort */
    }
    signal(SIGPIPE, SIG_IGN);
    img_child_fn fn = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
        if (strcmp(kinds[i].kind, argv[1]) == 0)
            fn = kinds[i].fn;
    cJSON *args = cJSON_Parse(argv[3]);
    img_store_t *s = img_store_open_child(argv[2]);
    int rc;
    if (!fn || !cJSON_IsObject(args)) {
        berth_err_t err = {0};
        berth_err_set(&err, BERTH_E_INTERNAL, "image helper: bad job %s", argv[1]);
        img_job_child_error(5, &err);
        rc = 1;
    } else {
        rc = fn(s, args, 3, 4, 5);
    }
    cJSON_Delete(args);
    img_store_close(s);
    return rc == 0 ? 0 : 1;
}

void img_job_child_syncfs(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        syncfs(fd);
        close(fd);
    }
}

void img_job_child_result(int res_fd, cJSON *result)
{
    char *txt = cJSON_PrintUnformatted(result);
    cJSON_Delete(result);
    fs_write_all(res_fd, txt, strlen(txt));
    free(txt);
}

void img_job_child_error(int res_fd, const berth_err_t *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", err->msg[0] ? err->msg : "unknown error");
    cJSON_AddNumberToObject(o, "status", err->status ? err->status : 500);
    img_job_child_result(res_fd, o);
}

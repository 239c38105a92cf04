/* berth-imagejob: runs one image job for berthd (see src/image/internal.h). */
#include <unistd.h>

#include "image/internal.h"

int main(int argc, char **argv)
{
    /* _exit: the job is done once its result is written; no exit-time work. */
    _exit(img_job_child_main(argc, argv));
}

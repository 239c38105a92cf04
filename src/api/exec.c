/* API routes for exec (placeholder until the module lands). */
#include "berth/api.h"

void api_exec_routes(api_router_t *r)
{
    (void)r;
}

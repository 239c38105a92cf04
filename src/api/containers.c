/* API routes for containers (placeholder until the module lands). */
#include "berth/api.h"

void api_containers_routes(api_router_t *r)
{
    (void)r;
}

/* API routes for registry (placeholder until the module lands). */
#include "berth/api.h"

void api_registry_routes(api_router_t *r)
{
    (void)r;
}

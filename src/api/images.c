/* API routes for images (placeholder until the module lands). */
#include "berth/api.h"

void api_images_routes(api_router_t *r)
{
    (void)r;
}

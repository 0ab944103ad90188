// The audit API: verify the hash chain and page through recent records (viewer role).
#pragma once

#include "opsrun/common/clock.h"
#include "opsrun/server/router.h"

namespace opsrun::store {
class Store;
}

namespace opsrun::server {

// GET /api/audit/verify and GET /api/audit?hours=&execution=&limit=&cursor=. `store` and
// `clock` must outlive the router.
void add_audit_routes(Router& router, store::Store& store, Clock& clock);

}  // namespace opsrun::server

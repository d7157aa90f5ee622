//! The services of the shop and its platform: the endpoints they log requests for and the
//! events they report, with weights that make their level mix realistic (mostly info, a few
//! percent warnings, errors around one percent in calm times).

use super::F::*;
use super::Level::{self, Info, Warn};
use super::{Service, e, err, r};
use crate::logs::fields::Kind::{Api, Health, Page, Static};

pub(super) const CHECKOUT: Service = Service {
    logger: "com.shop.checkout",
    callers: &[
        "web.RequestLogFilter",
        "service.CheckoutService",
        "service.PaymentService",
        "service.InventoryReservation",
    ],
    request_share: 550,
    routes: &[
        r("POST", "/api/v1/checkout", Api, 300, 160.0, 1_100),
        r(
            "POST",
            "/api/v1/checkout/{order}/confirm",
            Api,
            200,
            420.0,
            1_300,
        ),
        r("GET", "/api/v1/checkout/{order}", Api, 250, 12.0, 2_100),
        r(
            "PUT",
            "/api/v1/checkout/{order}/address",
            Api,
            120,
            25.0,
            800,
        ),
        r("GET", "/actuator/health", Health, 130, 1.0, 60),
    ],
    events: &[
        e(
            Info,
            "checkout session created",
            &[User, Items, Amount],
            260,
        ),
        e(
            Info,
            "payment authorized",
            &[Order, Provider, Amount, DurationMs],
            150,
        ),
        e(Info, "order placed", &[Order, User, Items, Amount], 150),
        e(Info, "inventory reserved", &[Order, Items], 140),
        e(Level::Debug, "price recalculated", &[Sku, Amount], 70),
        e(
            Level::Debug,
            "cart loaded from cache",
            &[User, CacheKey],
            60,
        ),
        e(
            Warn,
            "payment provider slow, retrying",
            &[Provider, Attempt, DurationMs],
            40,
        ),
        e(Warn, "coupon rejected", &[User, Order], 25),
        err(
            "payment authorization failed",
            &[Order, Provider],
            12,
            "java.net.SocketTimeoutException: Read timed out",
            0,
        ),
        err(
            "inventory reservation failed",
            &[Order, Sku],
            6,
            "com.shop.checkout.service.ReservationException: insufficient stock",
            2,
        ),
    ],
};

pub(super) const CATALOG: Service = Service {
    logger: "com.shop.catalog",
    callers: &[
        "web.CategoryController",
        "service.CatalogService",
        "search.SearchService",
    ],
    request_share: 650,
    routes: &[
        r("GET", "/api/v1/products/{id}", Api, 450, 9.0, 3_800),
        r(
            "GET",
            "/api/v1/products?category={slug}&page={page}",
            Api,
            220,
            30.0,
            14_000,
        ),
        r("GET", "/api/v1/search?q={term}", Api, 180, 75.0, 9_500),
        r("GET", "/actuator/health", Health, 80, 1.0, 60),
    ],
    events: &[
        e(Info, "search executed", &[Query, Count, DurationMs], 300),
        e(Info, "product viewed", &[Sku, User], 280),
        e(Info, "category listed", &[Count, DurationMs], 160),
        e(Level::Debug, "cache miss", &[CacheKey], 120),
        e(Warn, "slow query", &[Query, DurationMs], 45),
        err(
            "query failed",
            &[Query],
            8,
            "org.postgresql.util.PSQLException: ERROR: canceling statement due to statement timeout",
            1,
        ),
    ],
};

pub(super) const PAYMENTS: Service = Service {
    logger: "com.shop.payments",
    callers: &[
        "web.PaymentController",
        "client.ProviderClient",
        "service.CaptureService",
    ],
    request_share: 500,
    routes: &[
        r("POST", "/internal/payments/authorize", Api, 400, 350.0, 600),
        r(
            "POST",
            "/internal/payments/{order}/capture",
            Api,
            250,
            280.0,
            500,
        ),
        r(
            "POST",
            "/internal/payments/{order}/refund",
            Api,
            30,
            300.0,
            500,
        ),
        r("GET", "/actuator/health", Health, 100, 1.0, 60),
    ],
    events: &[
        e(
            Info,
            "authorization requested",
            &[Order, Provider, Amount],
            300,
        ),
        e(
            Info,
            "authorization succeeded",
            &[Order, Provider, DurationMs],
            280,
        ),
        e(Info, "capture completed", &[Order, Provider, Amount], 200),
        e(Info, "refund issued", &[Order, Amount], 20),
        e(
            Warn,
            "provider returned soft decline",
            &[Order, Provider],
            40,
        ),
        err(
            "provider call failed",
            &[Order, Provider, Region],
            10,
            "java.net.SocketTimeoutException: Read timed out",
            0,
        ),
    ],
};

pub(super) const CART: Service = Service {
    logger: "cart",
    callers: &[
        "server/handler.go:61",
        "service/cart.go:142",
        "store/redis.go:88",
    ],
    request_share: 620,
    routes: &[
        r("GET", "/v1/cart/{user}", Api, 500, 4.0, 1_900),
        r("POST", "/v1/cart/{user}/items", Api, 250, 9.0, 700),
        r("DELETE", "/v1/cart/{user}/items/{sku}", Api, 60, 7.0, 300),
        r("GET", "/healthz", Health, 120, 0.2, 2),
    ],
    events: &[
        e(Info, "cart updated", &[User, Sku, Items], 330),
        e(Info, "cart fetched", &[User, Items], 300),
        e(Level::Debug, "redis get", &[CacheKey, DurationMs], 180),
        e(Warn, "cart item price changed", &[Sku, Amount], 40),
        err(
            "failed to load cart",
            &[User],
            10,
            "redis: connection pool timeout",
            0,
        ),
    ],
};

pub(super) const ORDERS: Service = Service {
    logger: "orders",
    callers: &[
        "server/handler.go:61",
        "service/orders.go:219",
        "events/publisher.go:47",
    ],
    request_share: 450,
    routes: &[
        r("GET", "/v1/orders/{order}", Api, 400, 8.0, 2_300),
        r("POST", "/v1/orders", Api, 250, 35.0, 1_200),
        r(
            "GET",
            "/v1/users/{user}/orders?page={page}",
            Api,
            200,
            22.0,
            6_400,
        ),
        r("GET", "/healthz", Health, 100, 0.2, 2),
    ],
    events: &[
        e(Info, "order created", &[Order, User, Amount], 280),
        e(Info, "order status changed", &[Order], 260),
        e(Info, "kafka message published", &[Topic, Order], 250),
        e(Warn, "duplicate order submission", &[Order, User], 30),
        err(
            "failed to persist order",
            &[Order],
            8,
            "pq: deadlock detected",
            1,
        ),
    ],
};

pub(super) const INVENTORY: Service = Service {
    logger: "inventory",
    callers: &[
        "server/handler.go:61",
        "service/stock.go:77",
        "db/pool.go:203",
    ],
    request_share: 500,
    routes: &[
        r("POST", "/v1/reservations", Api, 400, 12.0, 400),
        r("DELETE", "/v1/reservations/{order}", Api, 150, 9.0, 200),
        r("GET", "/v1/stock/{sku}", Api, 300, 3.0, 300),
        r("GET", "/healthz", Health, 100, 0.2, 2),
    ],
    events: &[
        e(Info, "stock reserved", &[Order, Sku, Items], 350),
        e(Info, "stock released", &[Order, Sku], 200),
        e(Warn, "stock level low", &[Sku, Count], 60),
        err(
            "reservation conflict",
            &[Order, Sku],
            10,
            "pq: could not serialize access due to concurrent update",
            1,
        ),
    ],
};

pub(super) const RECOMMENDATIONS: Service = Service {
    logger: "recs.api",
    callers: &["recs/api.py:88", "recs/model.py:141"],
    request_share: 450,
    routes: &[
        r(
            "GET",
            "/v1/recommendations?user={user}",
            Api,
            700,
            38.0,
            5_200,
        ),
        r("GET", "/v1/similar/{sku}", Api, 200, 25.0, 3_100),
        r("GET", "/healthz", Health, 100, 0.5, 2),
    ],
    events: &[
        e(
            Info,
            "recommendations served",
            &[User, Count, Model, DurationMs],
            500,
        ),
        e(Info, "model reloaded", &[Model], 5),
        e(Level::Debug, "feature cache hit", &[User, CacheKey], 200),
        e(Warn, "fallback to popular items", &[User, Model], 60),
        err(
            "feature store timeout",
            &[User],
            12,
            "redis.exceptions.TimeoutError: Timeout reading from socket",
            0,
        ),
    ],
};

pub(super) const STOREFRONT_APP: Service = Service {
    logger: "storefront",
    callers: &["server.js:131", "pages/product.js:40", "clients/cart.js:48"],
    request_share: 600,
    routes: &[
        r("GET", "/products/{id}", Page, 400, 48.0, 61_000),
        r("GET", "/category/{slug}", Page, 200, 55.0, 52_000),
        r("GET", "/cart", Page, 120, 30.0, 29_000),
        r("GET", "/", Page, 150, 40.0, 38_000),
        r("GET", "/healthz", Health, 60, 0.4, 2),
    ],
    events: &[
        e(Info, "page rendered", &[DurationMs, Count], 500),
        e(Info, "session started", &[User], 150),
        e(Level::Debug, "cache revalidated", &[CacheKey], 150),
        e(Warn, "slow upstream", &[DurationMs, Region], 40),
        err(
            "cart service unavailable",
            &[User],
            10,
            "connect ECONNREFUSED",
            0,
        ),
        err(
            "render failed",
            &[User],
            4,
            "TypeError: Cannot read properties of undefined (reading 'price')",
            1,
        ),
    ],
};

pub(super) const GATEWAY: Service = Service {
    logger: "gateway",
    callers: &[
        "proxy/handler.go:214",
        "proxy/upstream.go:96",
        "ratelimit/limiter.go:51",
    ],
    request_share: 850,
    routes: &[
        r("POST", "/api/v1/auth/token", Api, 150, 55.0, 1_400),
        r("GET", "/api/v1/users/me", Api, 300, 11.0, 900),
        r("GET", "/api/v1/users/{user}", Api, 200, 9.0, 1_100),
        r(
            "PUT",
            "/api/v1/users/{user}/preferences",
            Api,
            40,
            20.0,
            300,
        ),
        r("GET", "/api/v1/config/{slug}", Api, 100, 4.0, 2_000),
        r("GET", "/healthz", Health, 100, 0.2, 2),
    ],
    events: &[
        e(Info, "config reloaded", &[Count], 20),
        e(Info, "upstream health changed", &[Target], 60),
        e(Warn, "rate limit exceeded", &[Client, Count], 200),
        e(Level::Debug, "route matched", &[Target], 500),
        err(
            "upstream request failed",
            &[Target, Attempt],
            60,
            "context deadline exceeded",
            0,
        ),
    ],
};

pub(super) const AUTH: Service = Service {
    logger: "auth",
    callers: &[
        "handlers/token.go:77",
        "handlers/login.go:118",
        "jwks/cache.go:40",
    ],
    request_share: 450,
    routes: &[
        r("POST", "/oauth/token", Api, 500, 48.0, 1_400),
        r("POST", "/login", Api, 200, 95.0, 600),
        r("GET", "/.well-known/jwks.json", Api, 150, 0.8, 1_800),
        r("GET", "/healthz", Health, 100, 0.2, 2),
    ],
    events: &[
        e(Info, "token issued", &[User, Client], 450),
        e(Info, "login succeeded", &[User, Client], 200),
        e(Info, "token refreshed", &[User, Client], 200),
        e(Warn, "login failed: invalid password", &[User, Attempt], 70),
        err(
            "failed to fetch JWKS",
            &[Target],
            5,
            "Get \"https://idp.internal/.well-known/jwks.json\": dial tcp: i/o timeout",
            0,
        ),
    ],
};

pub(super) const USERS: Service = Service {
    logger: "users",
    callers: &["api/users.go:93", "store/postgres.go:150"],
    request_share: 600,
    routes: &[
        r("GET", "/v1/users/{user}", Api, 600, 6.0, 1_100),
        r("PATCH", "/v1/users/{user}", Api, 80, 18.0, 400),
        r("GET", "/healthz", Health, 100, 0.2, 2),
    ],
    events: &[
        e(Info, "user profile loaded", &[User, DurationMs], 450),
        e(Info, "user updated", &[User], 100),
        e(Info, "email verification sent", &[User, Channel], 60),
        e(Level::Debug, "postgres query", &[DurationMs], 300),
        e(Warn, "slow query", &[DurationMs], 40),
        err(
            "failed to update user",
            &[User],
            6,
            "pq: duplicate key value violates unique constraint \"users_email_key\"",
            1,
        ),
    ],
};

pub(super) const NOTIFICATIONS: Service = Service {
    logger: "notify",
    callers: &[
        "sender/email.go:66",
        "sender/push.go:40",
        "queue/consumer.go:121",
    ],
    request_share: 150,
    routes: &[
        r("POST", "/v1/notifications", Api, 800, 15.0, 200),
        r("GET", "/healthz", Health, 200, 0.2, 2),
    ],
    events: &[
        e(Info, "notification sent", &[User, Channel, Order], 600),
        e(Info, "message consumed", &[Topic], 250),
        e(Warn, "provider throttled", &[Channel, Attempt], 40),
        err(
            "smtp send failed",
            &[User, Channel],
            10,
            "421 4.7.0 Try again later, closing connection",
            0,
        ),
    ],
};

pub(super) const SCHEDULER: Service = Service {
    logger: "scheduler",
    callers: &["scheduler/loop.go:88", "jobs/runner.go:140"],
    request_share: 50,
    routes: &[r("GET", "/healthz", Health, 1, 0.2, 2)],
    events: &[
        e(Info, "job started", &[Job], 400),
        e(Info, "job finished", &[Job, DurationMs, Count], 400),
        e(Level::Debug, "lease renewed", &[Job], 250),
        e(Warn, "job overran schedule", &[Job, DurationMs], 30),
        err("job failed", &[Job, Attempt], 8, "context canceled", 0),
    ],
};

pub(super) const CONFIG: Service = Service {
    logger: "config",
    callers: &["server/http.go:45", "store/git.go:77"],
    request_share: 700,
    routes: &[
        r("GET", "/v1/config/{slug}", Api, 900, 2.0, 2_000),
        r("GET", "/healthz", Health, 100, 0.2, 2),
    ],
    events: &[
        e(Info, "repository synced", &[Count, DurationMs], 400),
        e(Level::Debug, "cache hit", &[CacheKey], 500),
        e(Warn, "sync lagging", &[DurationMs], 30),
        err(
            "git fetch failed",
            &[Target],
            5,
            "ssh: handshake failed: EOF",
            0,
        ),
    ],
};

pub(super) const PROMETHEUS: Service = Service {
    logger: "prometheus",
    callers: &[
        "head.go:1320",
        "compact.go:523",
        "db.go:1189",
        "scrape.go:1547",
    ],
    request_share: 0,
    routes: &[],
    events: &[
        e(Info, "Head GC completed", &[DurationMs], 200),
        e(Info, "write block", &[Block, DurationMs], 120),
        e(Info, "Compaction completed", &[Block, DurationMs], 60),
        e(Info, "Deleting obsolete block", &[Block], 40),
        e(Warn, "Append error", &[Target, Count], 80),
        err(
            "Error on ingesting samples that are too old or are too far into the future",
            &[Target, Count],
            60,
            "out of bounds",
            0,
        ),
    ],
};

pub(super) const ALERTMANAGER: Service = Service {
    logger: "alertmanager",
    callers: &["dispatch.go:352", "notify.go:745", "cluster.go:708"],
    request_share: 0,
    routes: &[],
    events: &[
        e(Info, "gossip settled; proceeding", &[Count], 50),
        e(Level::Debug, "flushing", &[Count], 400),
        e(
            Warn,
            "Notify attempt failed, will retry later",
            &[Attempt, Target],
            120,
        ),
        err(
            "Notify for alerts failed",
            &[Count, Target],
            20,
            "context deadline exceeded",
            0,
        ),
    ],
};

pub(super) const GRAFANA: Service = Service {
    logger: "context",
    callers: &["context.go:121"],
    request_share: 750,
    routes: &[
        r("POST", "/api/ds/query", Api, 500, 140.0, 38_000),
        r("GET", "/api/dashboards/uid/{slug}", Api, 150, 12.0, 24_000),
        r("GET", "/api/search?query={term}", Api, 80, 18.0, 3_000),
        r("GET", "/api/health", Health, 100, 0.3, 70),
        r("GET", "/public/build/app.js", Static, 50, 1.2, 900_000),
    ],
    events: &[
        e(Info, "Usage stats are ready to report", &[Count], 10),
        e(Info, "Completed cleanup jobs", &[DurationMs], 200),
        e(
            Level::Debug,
            "Querying data source",
            &[Target, DurationMs],
            500,
        ),
        e(Warn, "Data source query slow", &[Target, DurationMs], 60),
        err("Query data error", &[Target], 20, "context canceled", 0),
    ],
};

pub(super) const NODE_EXPORTER: Service = Service {
    logger: "node_exporter",
    callers: &["collector.go:169", "textfile.go:210"],
    request_share: 0,
    routes: &[],
    events: &[
        e(Level::Debug, "collector succeeded", &[DurationMs], 600),
        e(Info, "Listening on", &[Target], 5),
        err(
            "collector failed",
            &[DurationMs],
            20,
            "open /host/proc/net/softnet_stat: too many open files",
            0,
        ),
    ],
};

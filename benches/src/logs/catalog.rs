//! What runs in each cluster: namespaces, workloads, their containers, the format each
//! container logs in, the endpoints it serves and the events it reports.
//!
//! Namespaces are homogeneous where the benchmark queries them: everything in `shop` logs
//! JSON and everything in `platform` logs logfmt, so `| json` and `| logfmt` over those
//! namespaces parse every line, as they would in a team that standardised its logging.

use super::fields::Kind;

/// One endpoint: what a request line looks like and how heavy it is.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) method: &'static str,
    /// Path template (see `fields::push_path`).
    pub(crate) path: &'static str,
    pub(crate) kind: Kind,
    pub(crate) weight: u32,
    /// Median latency.
    pub(crate) median_ms: f64,
    /// Median response size in bytes.
    pub(crate) size: u32,
    /// The backend an ingress sends it to (`namespace-service-port`), empty elsewhere.
    pub(crate) upstream: &'static str,
}

const fn r(
    method: &'static str,
    path: &'static str,
    kind: Kind,
    weight: u32,
    median_ms: f64,
    size: u32,
) -> Route {
    Route {
        method,
        path,
        kind,
        weight,
        median_ms,
        size,
        upstream: "",
    }
}

const fn u(
    method: &'static str,
    path: &'static str,
    kind: Kind,
    weight: u32,
    median_ms: f64,
    size: u32,
    upstream: &'static str,
) -> Route {
    Route {
        method,
        path,
        kind,
        weight,
        median_ms,
        size,
        upstream,
    }
}

/// Severity of an application event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// A field an event carries; the writer draws its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum F {
    User,
    Order,
    Sku,
    /// `amount_cents` and `currency`.
    Amount,
    Items,
    Provider,
    Attempt,
    DurationMs,
    CacheKey,
    Query,
    Count,
    Region,
    Job,
    Channel,
    Topic,
    Model,
    Client,
    Block,
    Target,
}

/// A non-request log event.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) level: Level,
    pub(crate) msg: &'static str,
    pub(crate) fields: &'static [F],
    pub(crate) weight: u32,
    /// For errors: the error text, and which of the language's stack traces comes with it
    /// (`usize::MAX`: none).
    pub(crate) error: &'static str,
    pub(crate) stack: usize,
}

const NO_STACK: usize = usize::MAX;

const fn e(level: Level, msg: &'static str, fields: &'static [F], weight: u32) -> Event {
    Event {
        level,
        msg,
        fields,
        weight,
        error: "",
        stack: NO_STACK,
    }
}

const fn err(
    msg: &'static str,
    fields: &'static [F],
    weight: u32,
    error: &'static str,
    stack: usize,
) -> Event {
    Event {
        level: Level::Error,
        msg,
        fields,
        weight,
        error,
        stack,
    }
}

/// An application: its endpoints and events.
#[derive(Debug)]
pub(crate) struct Service {
    /// Logger name (Java package, Go module, Python logger).
    pub(crate) logger: &'static str,
    /// Source locations for `caller` fields.
    pub(crate) callers: &'static [&'static str],
    /// Per mille of lines that are request logs.
    pub(crate) request_share: u32,
    pub(crate) routes: &'static [Route],
    pub(crate) events: &'static [Event],
}

/// How an application container writes its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppStyle {
    /// logstash-logback-encoder (Spring Boot).
    Logback,
    /// zap's production JSON encoder with ISO 8601 times.
    Zap,
    /// structlog's JSONRenderer.
    Structlog,
    /// pino with string levels.
    Pino,
    /// go-kit/log logfmt (`ts= caller= level= msg=`).
    GoKit,
    /// logrus' text formatter (`time= level= msg=`).
    Logrus,
    /// `level= ts= caller= msg=` (Loki, Thanos).
    LevelFirst,
    /// Grafana's own logfmt (`logger= t= level= msg=`).
    Grafana,
}

impl AppStyle {
    /// True for the JSON styles.
    pub(crate) fn is_json(self) -> bool {
        matches!(
            self,
            AppStyle::Logback | AppStyle::Zap | AppStyle::Structlog | AppStyle::Pino
        )
    }
}

/// What a container writes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Writer {
    /// nginx combined access log (and now and then its error log) for a site.
    Nginx(&'static [Route]),
    /// ingress-nginx controller's access log format.
    Ingress,
    /// An application log.
    App(AppStyle, &'static Service),
}

/// The wire format family of a writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// nginx access and error logs.
    Nginx,
    /// One JSON object per line.
    Json,
    /// logfmt key=value pairs.
    Logfmt,
}

impl Writer {
    pub(crate) fn format(self) -> Format {
        match self {
            Writer::Nginx(_) | Writer::Ingress => Format::Nginx,
            Writer::App(style, _) if style.is_json() => Format::Json,
            Writer::App(..) => Format::Logfmt,
        }
    }
}

/// One container of a workload's pods.
#[derive(Debug)]
pub(crate) struct ContainerDef {
    pub(crate) name: &'static str,
    /// Share of a production cluster's log bytes.
    pub(crate) weight: f64,
    pub(crate) writer: Writer,
}

/// How pods of a workload are named and replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkloadKind {
    /// `<name>-<replica-set hash>-<5 chars>`; rollouts change the hash.
    Deployment,
    /// `<name>-<ordinal>`, stable names.
    StatefulSet,
    /// `<name>-<5 chars>`, one pod per node.
    DaemonSet,
}

/// A workload.
#[derive(Debug)]
pub(crate) struct AppDef {
    pub(crate) namespace: &'static str,
    pub(crate) name: &'static str,
    pub(crate) kind: WorkloadKind,
    /// Replicas in production: (min, max); max > min means a horizontal pod autoscaler
    /// follows the traffic.
    pub(crate) replicas: (u32, u32),
    pub(crate) containers: &'static [ContainerDef],
    pub(crate) rollouts_per_day: f64,
    pub(crate) incidents_per_day: f64,
}

/// A cluster: its name, region, traffic relative to the first one, and UTC offset of its
/// users (the daily peak is at 14:00 local time).
#[derive(Debug)]
pub(crate) struct ClusterDef {
    pub(crate) name: &'static str,
    pub(crate) region: &'static str,
    pub(crate) traffic: f64,
    pub(crate) utc_offset_h: f64,
    pub(crate) nodes: u32,
    pub(crate) staging: bool,
}

pub(crate) const CLUSTERS: &[ClusterDef] = &[
    ClusterDef {
        name: "prod-eu-west-1",
        region: "eu-west-1",
        traffic: 1.0,
        utc_offset_h: 1.0,
        nodes: 24,
        staging: false,
    },
    ClusterDef {
        name: "prod-us-east-1",
        region: "us-east-1",
        traffic: 1.25,
        utc_offset_h: -5.0,
        nodes: 28,
        staging: false,
    },
    ClusterDef {
        name: "staging-eu-west-1",
        region: "eu-west-1",
        traffic: 0.12,
        utc_offset_h: 1.0,
        nodes: 6,
        staging: true,
    },
    ClusterDef {
        name: "prod-ap-southeast-1",
        region: "ap-southeast-1",
        traffic: 0.6,
        utc_offset_h: 8.0,
        nodes: 16,
        staging: false,
    },
    ClusterDef {
        name: "prod-eu-central-1",
        region: "eu-central-1",
        traffic: 0.8,
        utc_offset_h: 1.0,
        nodes: 20,
        staging: false,
    },
    ClusterDef {
        name: "prod-us-west-2",
        region: "us-west-2",
        traffic: 0.9,
        utc_offset_h: -8.0,
        nodes: 22,
        staging: false,
    },
];

use F::*;
use Kind::{Api, Health, Page, Static};
use Level::{Info, Warn};

const STOREFRONT_SITE: &[Route] = &[
    r("GET", "/", Page, 60, 45.0, 38_000),
    r("GET", "/category/{slug}", Page, 90, 60.0, 52_000),
    r(
        "GET",
        "/category/{slug}?page={page}",
        Page,
        30,
        65.0,
        51_000,
    ),
    r("GET", "/products/{id}", Page, 200, 55.0, 61_000),
    r(
        "GET",
        "/products/{id}/reviews?page={page}",
        Api,
        30,
        25.0,
        4_200,
    ),
    r("GET", "/search?q={term}", Page, 60, 120.0, 47_000),
    r("GET", "/cart", Page, 40, 35.0, 29_000),
    r("POST", "/cart/items", Api, 25, 30.0, 900),
    r("GET", "/checkout", Page, 15, 50.0, 33_000),
    r("POST", "/checkout/confirm", Api, 8, 420.0, 1_300),
    r("GET", "{asset}", Static, 300, 2.0, 24_000),
    r("GET", "/account/orders", Page, 10, 70.0, 31_000),
    r("GET", "/robots.txt", Static, 3, 1.0, 180),
    r("GET", "/sitemap.xml", Static, 2, 3.0, 94_000),
    r("GET", "/healthz", Health, 40, 0.5, 2),
];

const ASSETS_SITE: &[Route] = &[
    r("GET", "{asset}", Static, 900, 1.5, 24_000),
    r(
        "GET",
        "/images/products/{id}/{n}.webp",
        Static,
        700,
        3.0,
        60_000,
    ),
    r(
        "GET",
        "/images/products/{id}/thumb.webp",
        Static,
        400,
        2.0,
        9_000,
    ),
    r("GET", "/healthz", Health, 30, 0.3, 2),
];

const DOCS_SITE: &[Route] = &[
    r("GET", "/docs/{slug}", Page, 300, 8.0, 41_000),
    r("GET", "/docs/api/{slug}", Page, 150, 9.0, 66_000),
    r("GET", "{asset}", Static, 400, 1.5, 24_000),
    r("GET", "/healthz", Health, 60, 0.3, 2),
];

/// What the ingress routes: storefront traffic and the public API, by backend.
pub(crate) const INGRESS_ROUTES: &[Route] = &[
    u("GET", "/", Page, 60, 48.0, 38_000, "web-storefront-80"),
    u(
        "GET",
        "/products/{id}",
        Page,
        200,
        58.0,
        61_000,
        "web-storefront-80",
    ),
    u(
        "GET",
        "/category/{slug}",
        Page,
        90,
        63.0,
        52_000,
        "web-storefront-80",
    ),
    u(
        "GET",
        "/search?q={term}",
        Page,
        60,
        125.0,
        47_000,
        "web-storefront-80",
    ),
    u(
        "GET",
        "{asset}",
        Static,
        380,
        2.5,
        24_000,
        "web-static-assets-80",
    ),
    u(
        "GET",
        "/images/products/{id}/{n}.webp",
        Static,
        260,
        3.5,
        60_000,
        "web-static-assets-80",
    ),
    u("GET", "/docs/{slug}", Page, 25, 9.0, 41_000, "web-docs-80"),
    u(
        "GET",
        "/api/v1/cart/{user}",
        Api,
        70,
        9.0,
        1_900,
        "shop-cart-8080",
    ),
    u(
        "POST",
        "/api/v1/cart/{user}/items",
        Api,
        30,
        14.0,
        700,
        "shop-cart-8080",
    ),
    u(
        "POST",
        "/api/v1/checkout",
        Api,
        12,
        180.0,
        1_100,
        "shop-checkout-8080",
    ),
    u(
        "POST",
        "/api/v1/checkout/{order}/confirm",
        Api,
        8,
        450.0,
        1_300,
        "shop-checkout-8080",
    ),
    u(
        "GET",
        "/api/v1/products/{id}",
        Api,
        120,
        11.0,
        3_800,
        "shop-catalog-8080",
    ),
    u(
        "GET",
        "/api/v1/products?category={slug}&page={page}",
        Api,
        60,
        35.0,
        14_000,
        "shop-catalog-8080",
    ),
    u(
        "GET",
        "/api/v1/search?q={term}",
        Api,
        45,
        80.0,
        9_500,
        "shop-catalog-8080",
    ),
    u(
        "GET",
        "/api/v1/recommendations?user={user}",
        Api,
        40,
        42.0,
        5_200,
        "shop-recommendations-8000",
    ),
    u(
        "GET",
        "/api/v1/orders/{order}",
        Api,
        15,
        18.0,
        2_300,
        "shop-orders-8080",
    ),
    u(
        "POST",
        "/api/v1/auth/token",
        Api,
        25,
        60.0,
        1_400,
        "platform-api-gateway-8080",
    ),
    u(
        "GET",
        "/api/v1/users/me",
        Api,
        30,
        12.0,
        900,
        "platform-api-gateway-8080",
    ),
    u(
        "GET",
        "/healthz",
        Health,
        15,
        0.2,
        2,
        "upstream-default-backend",
    ),
];

const CHECKOUT: Service = Service {
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

const CATALOG: Service = Service {
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

const PAYMENTS: Service = Service {
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

const CART: Service = Service {
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

const ORDERS: Service = Service {
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

const INVENTORY: Service = Service {
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

const RECOMMENDATIONS: Service = Service {
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

const STOREFRONT_APP: Service = Service {
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

const GATEWAY: Service = Service {
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

const AUTH: Service = Service {
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

const USERS: Service = Service {
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

const NOTIFICATIONS: Service = Service {
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

const SCHEDULER: Service = Service {
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

const CONFIG: Service = Service {
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

const PROMETHEUS: Service = Service {
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
        e(Warn, "Append error", &[Target, Count], 400),
        err(
            "Error on ingesting samples that are too old or are too far into the future",
            &[Target, Count],
            60,
            "out of bounds",
            0,
        ),
    ],
};

const ALERTMANAGER: Service = Service {
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

const GRAFANA: Service = Service {
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

const NODE_EXPORTER: Service = Service {
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

/// Every workload of a cluster. Weights are shares of a production cluster's log bytes.
pub(crate) const APPS: &[AppDef] = &[
    AppDef {
        namespace: "ingress-nginx",
        name: "ingress-nginx-controller",
        kind: WorkloadKind::Deployment,
        replicas: (3, 8),
        containers: &[ContainerDef {
            name: "controller",
            weight: 22.0,
            writer: Writer::Ingress,
        }],
        rollouts_per_day: 0.3,
        incidents_per_day: 0.2,
    },
    AppDef {
        namespace: "web",
        name: "storefront",
        kind: WorkloadKind::Deployment,
        replicas: (6, 16),
        containers: &[
            ContainerDef {
                name: "nginx",
                weight: 8.0,
                writer: Writer::Nginx(STOREFRONT_SITE),
            },
            ContainerDef {
                name: "storefront",
                weight: 4.0,
                writer: Writer::App(AppStyle::Pino, &STOREFRONT_APP),
            },
        ],
        rollouts_per_day: 3.0,
        incidents_per_day: 0.4,
    },
    AppDef {
        namespace: "web",
        name: "static-assets",
        kind: WorkloadKind::Deployment,
        replicas: (3, 6),
        containers: &[ContainerDef {
            name: "nginx",
            weight: 6.0,
            writer: Writer::Nginx(ASSETS_SITE),
        }],
        rollouts_per_day: 1.0,
        incidents_per_day: 0.0,
    },
    AppDef {
        namespace: "web",
        name: "docs",
        kind: WorkloadKind::Deployment,
        replicas: (2, 2),
        containers: &[ContainerDef {
            name: "nginx",
            weight: 1.0,
            writer: Writer::Nginx(DOCS_SITE),
        }],
        rollouts_per_day: 1.0,
        incidents_per_day: 0.0,
    },
    AppDef {
        namespace: "shop",
        name: "checkout",
        kind: WorkloadKind::Deployment,
        replicas: (6, 16),
        containers: &[ContainerDef {
            name: "checkout",
            weight: 6.0,
            writer: Writer::App(AppStyle::Logback, &CHECKOUT),
        }],
        rollouts_per_day: 4.0,
        incidents_per_day: 1.0,
    },
    AppDef {
        namespace: "shop",
        name: "cart",
        kind: WorkloadKind::Deployment,
        replicas: (4, 12),
        containers: &[ContainerDef {
            name: "cart",
            weight: 5.0,
            writer: Writer::App(AppStyle::Zap, &CART),
        }],
        rollouts_per_day: 3.0,
        incidents_per_day: 0.4,
    },
    AppDef {
        namespace: "shop",
        name: "catalog",
        kind: WorkloadKind::Deployment,
        replicas: (6, 16),
        containers: &[ContainerDef {
            name: "catalog",
            weight: 7.0,
            writer: Writer::App(AppStyle::Logback, &CATALOG),
        }],
        rollouts_per_day: 3.0,
        incidents_per_day: 0.3,
    },
    AppDef {
        namespace: "shop",
        name: "payments",
        kind: WorkloadKind::Deployment,
        replicas: (4, 4),
        containers: &[ContainerDef {
            name: "payments",
            weight: 3.0,
            writer: Writer::App(AppStyle::Logback, &PAYMENTS),
        }],
        rollouts_per_day: 2.0,
        incidents_per_day: 0.8,
    },
    AppDef {
        namespace: "shop",
        name: "recommendations",
        kind: WorkloadKind::Deployment,
        replicas: (3, 8),
        containers: &[ContainerDef {
            name: "recommendations",
            weight: 4.0,
            writer: Writer::App(AppStyle::Structlog, &RECOMMENDATIONS),
        }],
        rollouts_per_day: 2.0,
        incidents_per_day: 0.3,
    },
    AppDef {
        namespace: "shop",
        name: "orders",
        kind: WorkloadKind::Deployment,
        replicas: (3, 6),
        containers: &[ContainerDef {
            name: "orders",
            weight: 4.0,
            writer: Writer::App(AppStyle::Zap, &ORDERS),
        }],
        rollouts_per_day: 2.5,
        incidents_per_day: 0.3,
    },
    AppDef {
        namespace: "shop",
        name: "inventory",
        kind: WorkloadKind::Deployment,
        replicas: (2, 4),
        containers: &[ContainerDef {
            name: "inventory",
            weight: 2.0,
            writer: Writer::App(AppStyle::Zap, &INVENTORY),
        }],
        rollouts_per_day: 1.5,
        incidents_per_day: 0.3,
    },
    AppDef {
        namespace: "platform",
        name: "api-gateway",
        kind: WorkloadKind::Deployment,
        replicas: (6, 16),
        containers: &[ContainerDef {
            name: "gateway",
            weight: 9.0,
            writer: Writer::App(AppStyle::GoKit, &GATEWAY),
        }],
        rollouts_per_day: 2.0,
        incidents_per_day: 0.6,
    },
    AppDef {
        namespace: "platform",
        name: "auth",
        kind: WorkloadKind::Deployment,
        replicas: (3, 8),
        containers: &[ContainerDef {
            name: "auth",
            weight: 5.0,
            writer: Writer::App(AppStyle::Logrus, &AUTH),
        }],
        rollouts_per_day: 1.5,
        incidents_per_day: 0.3,
    },
    AppDef {
        namespace: "platform",
        name: "user-service",
        kind: WorkloadKind::Deployment,
        replicas: (3, 6),
        containers: &[ContainerDef {
            name: "user-service",
            weight: 3.0,
            writer: Writer::App(AppStyle::Logrus, &USERS),
        }],
        rollouts_per_day: 1.5,
        incidents_per_day: 0.2,
    },
    AppDef {
        namespace: "platform",
        name: "notifications",
        kind: WorkloadKind::Deployment,
        replicas: (2, 2),
        containers: &[ContainerDef {
            name: "notifications",
            weight: 2.0,
            writer: Writer::App(AppStyle::GoKit, &NOTIFICATIONS),
        }],
        rollouts_per_day: 1.0,
        incidents_per_day: 0.2,
    },
    AppDef {
        namespace: "platform",
        name: "scheduler",
        kind: WorkloadKind::StatefulSet,
        replicas: (2, 2),
        containers: &[ContainerDef {
            name: "scheduler",
            weight: 1.0,
            writer: Writer::App(AppStyle::LevelFirst, &SCHEDULER),
        }],
        rollouts_per_day: 0.0,
        incidents_per_day: 0.1,
    },
    AppDef {
        namespace: "platform",
        name: "config-service",
        kind: WorkloadKind::Deployment,
        replicas: (2, 2),
        containers: &[ContainerDef {
            name: "config-service",
            weight: 0.5,
            writer: Writer::App(AppStyle::GoKit, &CONFIG),
        }],
        rollouts_per_day: 1.0,
        incidents_per_day: 0.0,
    },
    AppDef {
        namespace: "monitoring",
        name: "prometheus",
        kind: WorkloadKind::StatefulSet,
        replicas: (2, 2),
        containers: &[ContainerDef {
            name: "prometheus",
            weight: 0.5,
            writer: Writer::App(AppStyle::GoKit, &PROMETHEUS),
        }],
        rollouts_per_day: 0.0,
        incidents_per_day: 0.0,
    },
    AppDef {
        namespace: "monitoring",
        name: "alertmanager",
        kind: WorkloadKind::StatefulSet,
        replicas: (3, 3),
        containers: &[ContainerDef {
            name: "alertmanager",
            weight: 0.3,
            writer: Writer::App(AppStyle::GoKit, &ALERTMANAGER),
        }],
        rollouts_per_day: 0.0,
        incidents_per_day: 0.0,
    },
    AppDef {
        namespace: "monitoring",
        name: "grafana",
        kind: WorkloadKind::Deployment,
        replicas: (2, 2),
        containers: &[ContainerDef {
            name: "grafana",
            weight: 1.5,
            writer: Writer::App(AppStyle::Grafana, &GRAFANA),
        }],
        rollouts_per_day: 0.3,
        incidents_per_day: 0.0,
    },
    AppDef {
        namespace: "monitoring",
        name: "node-exporter",
        kind: WorkloadKind::DaemonSet,
        replicas: (1, 1),
        containers: &[ContainerDef {
            name: "node-exporter",
            weight: 0.2,
            writer: Writer::App(AppStyle::GoKit, &NODE_EXPORTER),
        }],
        rollouts_per_day: 0.0,
        incidents_per_day: 0.0,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queried_namespaces_are_homogeneous() {
        for app in APPS {
            for c in app.containers {
                match app.namespace {
                    "shop" => assert_eq!(c.writer.format(), Format::Json, "{}", app.name),
                    "platform" => assert_eq!(c.writer.format(), Format::Logfmt, "{}", app.name),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn names_are_unique_and_valid_kubernetes_names() {
        let mut seen = std::collections::HashSet::new();
        for app in APPS {
            assert!(seen.insert((app.namespace, app.name)));
            assert!(app.replicas.0 >= 1 && app.replicas.0 <= app.replicas.1);
            for n in [app.namespace, app.name] {
                assert!(
                    n.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                );
            }
        }
        assert!(CLUSTERS.iter().all(|c| c.nodes > 0));
    }
}

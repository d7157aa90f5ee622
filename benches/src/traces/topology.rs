//! The shop the traces come from: fifteen services, what each operation does and whom it
//! calls, modelled on the OpenTelemetry demo. Built once; the generator walks it.

/// A service: its name, language and how its instrumentation writes attributes.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub(crate) name: &'static str,
    pub(crate) language: &'static str,
    pub(crate) version: &'static str,
    /// Pods serving it (each pod is one OTLP resource).
    pub(crate) replicas: u32,
    /// Writes the HTTP attributes of the older semantic conventions (`http.status_code`,
    /// `http.method`, `http.target`), as instrumentations did before semconv 1.23.
    pub(crate) old_http: bool,
    /// Its instrumentation scope.
    pub(crate) scope: &'static str,
}

/// The services, in the order of [`crate::traces::SERVICES`].
pub(crate) const SERVICES: &[Service] = &[
    svc("frontend-proxy", "cpp", "1.30.4", 2, true, "envoy"),
    svc(
        "frontend",
        "nodejs",
        "2.1.3",
        4,
        true,
        "@opentelemetry/instrumentation-http",
    ),
    svc(
        "product-catalog",
        "go",
        "2.1.3",
        3,
        false,
        "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
    ),
    svc(
        "cart",
        "dotnet",
        "2.1.3",
        3,
        false,
        "OpenTelemetry.Instrumentation.AspNetCore",
    ),
    svc(
        "checkout",
        "go",
        "2.1.3",
        2,
        false,
        "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
    ),
    svc("currency", "cpp", "2.1.3", 2, false, "opentelemetry-cpp"),
    svc(
        "payment",
        "nodejs",
        "2.1.3",
        2,
        false,
        "@opentelemetry/instrumentation-grpc",
    ),
    svc(
        "shipping",
        "rust",
        "2.1.3",
        2,
        false,
        "opentelemetry-instrumentation-actix-web",
    ),
    svc(
        "quote",
        "php",
        "2.1.3",
        2,
        true,
        "io.opentelemetry.contrib.php.slim",
    ),
    svc(
        "recommendation",
        "python",
        "2.1.3",
        3,
        true,
        "opentelemetry.instrumentation.grpc",
    ),
    svc("ad", "java", "2.1.3", 2, false, "io.opentelemetry.grpc-1.6"),
    svc(
        "email",
        "ruby",
        "2.1.3",
        2,
        true,
        "OpenTelemetry::Instrumentation::Sinatra",
    ),
    svc(
        "accounting",
        "dotnet",
        "2.1.3",
        2,
        false,
        "OpenTelemetry.Instrumentation.ConfluentKafka",
    ),
    svc(
        "fraud-detection",
        "java",
        "2.1.3",
        2,
        false,
        "io.opentelemetry.kafka-clients-0.11",
    ),
    svc(
        "user",
        "java",
        "2.1.3",
        3,
        false,
        "io.opentelemetry.spring-webmvc-6.0",
    ),
];

const fn svc(
    name: &'static str,
    language: &'static str,
    version: &'static str,
    replicas: u32,
    old_http: bool,
    scope: &'static str,
) -> Service {
    Service {
        name,
        language,
        version,
        replicas,
        old_http,
        scope,
    }
}

/// Index of a service by name (the topology below only names services that exist).
pub(crate) fn service_index(name: &str) -> usize {
    SERVICES
        .iter()
        .position(|s| s.name == name)
        .expect("the topology names only listed services")
}

/// What an operation's server-side span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Envoy's ingress span for a route of the shop.
    Proxy,
    /// An HTTP server span: method and route.
    Http(&'static str, &'static str),
    /// A gRPC server span: `package.Service` and method.
    Grpc(&'static str, &'static str),
    /// A Kafka consumer's process span on a topic.
    Consume(&'static str),
    /// An in-process span.
    Internal(&'static str),
}

/// A backing store the services call (client spans only: databases are not instrumented).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Store {
    Postgres,
    Redis,
}

/// One thing an operation does.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Calls an operation of another service (a client span, then the callee's span).
    Call(usize),
    /// Runs an in-process operation of the same service (a child internal span).
    Inner(usize),
    /// Queries a store: operation (`SELECT`, `GET`, ...), table or key prefix, statement.
    Db(Store, &'static str, &'static str, &'static str),
    /// Calls an HTTP API outside the cluster (a client span without a server side).
    External(&'static str, &'static str),
    /// Publishes to a Kafka topic consumed by these operations (a producer span, then each
    /// consumer's process span, linked to it).
    Publish(&'static str, Vec<usize>),
}

/// A step with how often and how many times it runs.
#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub(crate) step: Step,
    /// Probability that it runs at all.
    pub(crate) p: f64,
    /// How many times (uniform in the range), one after the other or all at once.
    pub(crate) times: (u32, u32),
    pub(crate) parallel: bool,
    /// Whether its failure fails the caller (else the caller degrades gracefully).
    pub(crate) critical: bool,
}

/// An operation of a service.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub(crate) service: usize,
    pub(crate) entry: Entry,
    /// Median of its own time in milliseconds, and the log-normal sigma.
    pub(crate) self_ms: f64,
    pub(crate) sigma: f64,
    /// Probability that it fails on its own.
    pub(crate) fail: f64,
    pub(crate) actions: Vec<Action>,
}

/// The whole call graph and the entry requests with their weights.
#[derive(Debug, Clone)]
pub(crate) struct Topology {
    pub(crate) ops: Vec<Operation>,
    /// Envoy operations that start traces, with cumulative weights (last is 1).
    pub(crate) roots: Vec<(usize, f64)>,
}

fn act(step: Step, p: f64, times: (u32, u32), parallel: bool, critical: bool) -> Action {
    Action {
        step,
        p,
        times,
        parallel,
        critical,
    }
}

fn once(step: Step) -> Action {
    act(step, 1.0, (1, 1), false, true)
}

struct Builder {
    ops: Vec<Operation>,
}

impl Builder {
    fn op(&mut self, service: &str, entry: Entry, self_ms: f64, fail: f64) -> usize {
        self.ops.push(Operation {
            service: service_index(service),
            entry,
            self_ms,
            sigma: 0.6,
            fail,
            actions: Vec::new(),
        });
        self.ops.len() - 1
    }

    fn then(&mut self, op: usize, a: Action) {
        self.ops[op].actions.push(a);
    }
}

impl Topology {
    /// The shop.
    pub(crate) fn shop() -> Topology {
        use Entry::*;
        use Step::*;
        use Store::*;
        let mut b = Builder { ops: Vec::new() };
        // Leaves and inner services first, so that callers can name them.
        let convert = b.op(
            "currency",
            Grpc("oteldemo.CurrencyService", "Convert"),
            0.4,
            0.006,
        );
        let currencies = b.op(
            "currency",
            Grpc("oteldemo.CurrencyService", "GetSupportedCurrencies"),
            0.3,
            0.004,
        );
        let list_products = b.op(
            "product-catalog",
            Grpc("oteldemo.ProductCatalogService", "ListProducts"),
            1.5,
            0.01,
        );
        b.then(
            list_products,
            once(Db(Postgres, "SELECT", "products", "SELECT id, name, description, picture, price_usd_currency_code, price_usd_units, price_usd_nanos, categories FROM products ORDER BY id")),
        );
        let get_product = b.op(
            "product-catalog",
            Grpc("oteldemo.ProductCatalogService", "GetProduct"),
            0.6,
            0.01,
        );
        b.then(
            get_product,
            once(Db(Redis, "GET", "product", "GET product:?")),
        );
        b.then(
            get_product,
            act(
                Db(Postgres, "SELECT", "products", "SELECT id, name, description, picture, price_usd_currency_code, price_usd_units, price_usd_nanos, categories FROM products WHERE id = $1"),
                0.3,
                (1, 1),
                false,
                true,
            ),
        );
        let ad_select = b.op("ad", Internal("getAdsByCategory"), 0.8, 0.0);
        b.then(
            ad_select,
            act(
                Db(Redis, "GET", "ads", "GET ads:category:?"),
                0.6,
                (1, 1),
                false,
                true,
            ),
        );
        let get_ads = b.op("ad", Grpc("oteldemo.AdService", "GetAds"), 1.2, 0.01);
        b.then(get_ads, once(Inner(ad_select)));
        let rec_inner = b.op("recommendation", Internal("get_product_list"), 2.0, 0.0);
        let list_recs = b.op(
            "recommendation",
            Grpc("oteldemo.RecommendationService", "ListRecommendations"),
            1.0,
            0.01,
        );
        b.then(list_recs, once(Call(list_products)));
        b.then(list_recs, once(Inner(rec_inner)));
        let get_cart = b.op("cart", Grpc("oteldemo.CartService", "GetCart"), 0.5, 0.006);
        b.then(
            get_cart,
            once(Db(Redis, "HGET", "cart", "HGET cart:? items")),
        );
        let add_item = b.op("cart", Grpc("oteldemo.CartService", "AddItem"), 0.6, 0.006);
        b.then(
            add_item,
            once(Db(Redis, "HGET", "cart", "HGET cart:? items")),
        );
        b.then(
            add_item,
            once(Db(Redis, "HSET", "cart", "HSET cart:? items ?")),
        );
        b.then(
            add_item,
            once(Db(Redis, "EXPIRE", "cart", "EXPIRE cart:? 3600")),
        );
        let empty_cart = b.op(
            "cart",
            Grpc("oteldemo.CartService", "EmptyCart"),
            0.4,
            0.006,
        );
        b.then(empty_cart, once(Db(Redis, "DEL", "cart", "DEL cart:?")));
        let session = b.op("user", Http("GET", "/api/session"), 1.0, 0.006);
        b.then(session, once(Db(Redis, "GET", "session", "GET session:?")));
        b.then(
            session,
            act(
                Db(
                    Postgres,
                    "SELECT",
                    "users",
                    "SELECT id, email, name, tier FROM users WHERE id = $1",
                ),
                0.2,
                (1, 1),
                false,
                true,
            ),
        );
        let calc_quote = b.op("quote", Http("POST", "/getquote"), 2.5, 0.01);
        let get_quote = b.op("shipping", Http("POST", "/get-quote"), 0.5, 0.01);
        b.then(get_quote, once(Call(calc_quote)));
        let tracking = b.op("shipping", Internal("create_tracking_id"), 0.2, 0.0);
        let ship_order = b.op("shipping", Http("POST", "/ship-order"), 0.6, 0.006);
        b.then(ship_order, once(Inner(tracking)));
        let charge_inner = b.op("payment", Internal("charge"), 1.0, 0.0);
        b.then(
            charge_inner,
            once(External(
                "POST",
                "https://api.payments.example.net/v1/charges",
            )),
        );
        let charge = b.op(
            "payment",
            Grpc("oteldemo.PaymentService", "Charge"),
            0.8,
            0.04,
        );
        b.then(charge, once(Inner(charge_inner)));
        let send_mail = b.op("email", Internal("send_email"), 3.0, 0.0);
        let confirm = b.op("email", Http("POST", "/send_order_confirmation"), 1.0, 0.02);
        b.then(confirm, once(Inner(send_mail)));
        let acct = b.op("accounting", Consume("orders"), 1.0, 0.006);
        b.then(acct, once(Db(Postgres, "INSERT", "orders", "INSERT INTO orders (id, user_id, total_units, total_nanos, currency) VALUES ($1, $2, $3, $4, $5)")));
        b.then(
            acct,
            act(
                Db(
                    Postgres,
                    "INSERT",
                    "order_items",
                    "INSERT INTO order_items (order_id, product_id, quantity) VALUES ($1, $2, $3)",
                ),
                1.0,
                (1, 5),
                false,
                true,
            ),
        );
        let fraud_check = b.op("fraud-detection", Internal("fraud.check"), 4.0, 0.0);
        b.then(fraud_check, once(Db(Postgres, "SELECT", "orders", "SELECT count(*) FROM orders WHERE user_id = $1 AND created_at > now() - interval '1 day'")));
        let fraud = b.op("fraud-detection", Consume("orders"), 0.5, 0.006);
        b.then(fraud, once(Inner(fraud_check)));
        let place = b.op(
            "checkout",
            Grpc("oteldemo.CheckoutService", "PlaceOrder"),
            2.0,
            0.01,
        );
        b.then(place, once(Call(get_cart)));
        b.then(place, act(Call(get_product), 1.0, (1, 5), false, true));
        b.then(place, act(Call(convert), 1.0, (1, 5), true, true));
        b.then(place, once(Call(get_quote)));
        b.then(place, once(Call(charge)));
        b.then(place, once(Call(ship_order)));
        b.then(place, act(Call(empty_cart), 1.0, (1, 1), false, false));
        b.then(place, act(Call(confirm), 1.0, (1, 1), false, false));
        b.then(
            place,
            act(
                Publish("orders", vec![acct, fraud]),
                1.0,
                (1, 1),
                false,
                false,
            ),
        );

        let fe_products = b.op("frontend", Http("GET", "/api/products"), 3.0, 0.01);
        b.then(fe_products, once(Call(list_products)));
        b.then(fe_products, act(Call(convert), 1.0, (5, 12), true, true));
        b.then(fe_products, act(Call(get_ads), 0.5, (1, 1), false, false));
        let fe_product = b.op(
            "frontend",
            Http("GET", "/api/products/{productId}"),
            2.0,
            0.01,
        );
        b.then(fe_product, once(Call(get_product)));
        b.then(fe_product, act(Call(list_recs), 0.9, (1, 1), false, false));
        b.then(fe_product, act(Call(get_ads), 0.7, (1, 1), false, false));
        b.then(fe_product, act(Call(convert), 1.0, (1, 3), true, true));
        b.then(fe_product, act(Call(get_cart), 0.5, (1, 1), false, false));
        let fe_cart = b.op("frontend", Http("GET", "/api/cart"), 2.0, 0.01);
        b.then(fe_cart, once(Call(get_cart)));
        b.then(fe_cart, act(Call(get_product), 1.0, (1, 6), true, true));
        b.then(fe_cart, act(Call(convert), 1.0, (1, 6), true, true));
        b.then(fe_cart, act(Call(get_quote), 0.6, (1, 1), false, false));
        let fe_add = b.op("frontend", Http("POST", "/api/cart"), 1.5, 0.01);
        b.then(fe_add, once(Call(session)));
        b.then(fe_add, once(Call(add_item)));
        let fe_checkout = b.op("frontend", Http("POST", "/api/checkout"), 3.0, 0.01);
        b.then(fe_checkout, once(Call(session)));
        b.then(fe_checkout, once(Call(place)));
        let fe_recs = b.op("frontend", Http("GET", "/api/recommendations"), 1.5, 0.01);
        b.then(fe_recs, once(Call(list_recs)));
        b.then(fe_recs, act(Call(get_product), 1.0, (1, 4), true, false));
        let fe_ads = b.op("frontend", Http("GET", "/api/data"), 1.0, 0.01);
        b.then(fe_ads, once(Call(get_ads)));
        let fe_currency = b.op("frontend", Http("GET", "/api/currency"), 0.8, 0.01);
        b.then(fe_currency, once(Call(currencies)));

        let mut roots = Vec::new();
        let mut total = 0.0;
        for (fe, weight) in [
            (fe_products, 30.0),
            (fe_product, 25.0),
            (fe_cart, 10.0),
            (fe_add, 10.0),
            (fe_checkout, 5.0),
            (fe_recs, 10.0),
            (fe_ads, 5.0),
            (fe_currency, 5.0),
        ] {
            let ingress = b.op("frontend-proxy", Proxy, 0.3, 0.001);
            b.then(ingress, once(Call(fe)));
            total += weight;
            roots.push((ingress, total));
        }
        for r in &mut roots {
            r.1 /= total;
        }
        Topology { ops: b.ops, roots }
    }
}

//! Fixed vocabulary of the corpus: user agents, referrers, search terms, error texts and stack
//! traces as real services print them. Stack traces are fixed per failure, as in production
//! (the same bug prints the same frames), which is what makes them compress the way real ones
//! do.

/// User agents with weights (per mille, roughly the mix a storefront sees).
pub(crate) const BROWSER_UAS: &[(&str, u32)] = &[
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        230,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        170,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.39 Mobile Safari/537.36",
        140,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        110,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        70,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        45,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        50,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        25,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
        15,
    ),
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        40,
    ),
    (
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        15,
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
        12,
    ),
    (
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        10,
    ),
    ("curl/8.5.0", 8),
    ("python-requests/2.32.3", 10),
    ("Go-http-client/1.1", 5),
];

/// Clients of the JSON APIs: the mobile apps and server-to-server callers.
pub(crate) const API_UAS: &[(&str, u32)] = &[
    ("ShopApp/5.42.1 (iPhone; iOS 18.1; Scale/3.00)", 300),
    ("okhttp/4.12.0", 260),
    ("ShopApp/5.41.0 (Android 14; Pixel 8)", 120),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        180,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        90,
    ),
    ("axios/1.7.7", 30),
    ("Go-http-client/2.0", 20),
];

/// Kubernetes' probe client.
pub(crate) const PROBE_UA: &str = "kube-probe/1.31";
/// Prometheus scraping `/metrics`.
pub(crate) const SCRAPE_UA: &str = "Prometheus/2.55.1";

/// External referrers (the site's own pages are added by the nginx writer).
pub(crate) const EXTERNAL_REFERERS: &[&str] = &[
    "https://www.google.com/",
    "https://www.google.de/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://www.facebook.com/",
    "https://t.co/",
    "https://www.instagram.com/",
    "android-app://com.google.android.gm/",
];

/// Category slugs of the shop.
pub(crate) const CATEGORIES: &[&str] = &[
    "shoes",
    "running-shoes",
    "jackets",
    "outdoor",
    "kitchen",
    "coffee-machines",
    "headphones",
    "laptops",
    "smartphones",
    "toys",
    "garden",
    "furniture",
    "lighting",
    "bikes",
    "camping",
    "watches",
    "sale",
    "new-arrivals",
];

/// Search terms (popular first: they are drawn with a skew).
pub(crate) const SEARCH_TERMS: &[&str] = &[
    "sneakers",
    "rain+jacket",
    "iphone+case",
    "espresso",
    "usb-c+cable",
    "winter+boots",
    "headphones",
    "gift+card",
    "tent",
    "office+chair",
    "led+strip",
    "yoga+mat",
    "backpack",
    "air+fryer",
    "lego",
    "bike+helmet",
    "standing+desk",
    "wireless+charger",
    "thermos",
    "hoodie",
];

/// Static asset names with their build hashes.
pub(crate) const ASSETS: &[&str] = &[
    "/static/js/main.4f9c2a1e.js",
    "/static/js/vendor.9b1d7e33.js",
    "/static/js/checkout.c02e8f51.chunk.js",
    "/static/css/main.7a6e1d20.css",
    "/static/media/logo.3c9a1f0b.svg",
    "/static/media/hero-winter.d81f0c7a.webp",
    "/static/fonts/inter-var.2b4e91c8.woff2",
    "/favicon.ico",
    "/manifest.json",
];

/// Payment providers.
pub(crate) const PROVIDERS: &[&str] = &["stripe", "adyen", "paypal", "klarna"];

/// Currencies with the shop's mix.
pub(crate) const CURRENCIES: &[&str] = &["EUR", "EUR", "EUR", "USD", "USD", "GBP", "CHF", "SEK"];

/// Cloud regions of upstream calls.
pub(crate) const REGIONS: &[&str] = &["eu-west-1", "us-east-1", "eu-central-1"];

/// Java stack trace bodies (after the exception line), one per failure kind.
pub(crate) const JAVA_STACKS: &[&str] = &[
    "\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)\n\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:314)\n\tat java.base/sun.nio.ch.NioSocketImpl.read(NioSocketImpl.java:355)\n\tat java.base/java.net.Socket$SocketInputStream.read(Socket.java:1099)\n\tat okio.InputStreamSource.read(JvmOkio.kt:93)\n\tat okhttp3.internal.http1.Http1ExchangeCodec.readResponseHeaders(Http1ExchangeCodec.kt:178)\n\tat okhttp3.internal.connection.Exchange.readResponseHeaders(Exchange.kt:106)\n\tat okhttp3.internal.http.CallServerInterceptor.intercept(CallServerInterceptor.kt:79)\n\tat com.shop.payments.client.ProviderClient.authorize(ProviderClient.java:142)\n\tat com.shop.checkout.service.PaymentService.authorize(PaymentService.java:87)\n\tat com.shop.checkout.service.CheckoutService.confirm(CheckoutService.java:214)\n\tat com.shop.checkout.web.CheckoutController.confirm(CheckoutController.java:66)\n\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)\n\tat org.springframework.web.method.support.InvocableHandlerMethod.doInvoke(InvocableHandlerMethod.java:255)\n\tat org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerAdapter.handleInternal(RequestMappingHandlerAdapter.java:808)\n\tat org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)\n\tat org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)\n\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:138)\n\tat org.apache.coyote.http11.Http11Processor.service(Http11Processor.java:396)\n\tat org.apache.tomcat.util.net.NioEndpoint$SocketProcessor.doRun(NioEndpoint.java:1769)\n\tat java.base/java.lang.Thread.run(Thread.java:1583)",
    "\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2733)\n\tat org.postgresql.core.v3.QueryExecutorImpl.processResults(QueryExecutorImpl.java:2420)\n\tat org.postgresql.core.v3.QueryExecutorImpl.execute(QueryExecutorImpl.java:372)\n\tat org.postgresql.jdbc.PgStatement.executeInternal(PgStatement.java:517)\n\tat org.postgresql.jdbc.PgPreparedStatement.executeWithFlags(PgPreparedStatement.java:194)\n\tat com.zaxxer.hikari.pool.HikariProxyPreparedStatement.executeQuery(HikariProxyPreparedStatement.java)\n\tat org.hibernate.sql.results.jdbc.internal.DeferredResultSetAccess.executeQuery(DeferredResultSetAccess.java:246)\n\tat com.shop.catalog.repository.ProductRepository.findByCategory(ProductRepository.java:58)\n\tat com.shop.catalog.service.CatalogService.listCategory(CatalogService.java:131)\n\tat com.shop.catalog.web.CategoryController.list(CategoryController.java:44)\n\tat org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)\n\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:138)\n\tat java.base/java.lang.Thread.run(Thread.java:1583)",
    "\tat com.shop.checkout.service.InventoryReservation.reserve(InventoryReservation.java:73)\n\tat com.shop.checkout.service.CheckoutService.reserveItems(CheckoutService.java:188)\n\tat com.shop.checkout.service.CheckoutService.confirm(CheckoutService.java:205)\n\tat com.shop.checkout.web.CheckoutController.confirm(CheckoutController.java:66)\n\tat org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)\n\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:138)\n\tat org.apache.coyote.http11.Http11Processor.service(Http11Processor.java:396)\n\tat java.base/java.lang.Thread.run(Thread.java:1583)",
];

/// Go stack traces as zap's `stacktrace` field prints them.
pub(crate) const GO_STACKS: &[&str] = &[
    "github.com/shop/svc/internal/store.(*Redis).Get\n\t/src/internal/store/redis.go:88\ngithub.com/shop/svc/internal/service.(*Service).Load\n\t/src/internal/service/service.go:142\ngithub.com/shop/svc/internal/server.(*Handler).ServeHTTP\n\t/src/internal/server/handler.go:61\nnet/http.serverHandler.ServeHTTP\n\t/usr/local/go/src/net/http/server.go:3210\nnet/http.(*conn).serve\n\t/usr/local/go/src/net/http/server.go:2092",
    "github.com/shop/svc/internal/db.(*Pool).Query\n\t/src/internal/db/pool.go:203\ngithub.com/shop/svc/internal/service.(*Service).Update\n\t/src/internal/service/service.go:219\ngithub.com/shop/svc/internal/server.(*Handler).ServeHTTP\n\t/src/internal/server/handler.go:61\nnet/http.HandlerFunc.ServeHTTP\n\t/usr/local/go/src/net/http/server.go:2220\nnet/http.serverHandler.ServeHTTP\n\t/usr/local/go/src/net/http/server.go:3210\nnet/http.(*conn).serve\n\t/usr/local/go/src/net/http/server.go:2092",
];

/// Python tracebacks (structlog's `exception` field), without the final exception line.
pub(crate) const PYTHON_STACKS: &[&str] = &[
    "Traceback (most recent call last):\n  File \"/app/recs/api.py\", line 88, in recommend\n    items = await model.predict(user_id, k=limit)\n  File \"/app/recs/model.py\", line 141, in predict\n    vector = await self.features.user_vector(user_id)\n  File \"/app/recs/features.py\", line 57, in user_vector\n    raw = await self.redis.get(f\"uv:{user_id}\")\n  File \"/usr/local/lib/python3.12/site-packages/redis/asyncio/client.py\", line 612, in execute_command\n    return await conn.retry.call_with_retry(\n  File \"/usr/local/lib/python3.12/site-packages/redis/asyncio/connection.py\", line 568, in read_response\n    raise TimeoutError(f\"Timeout reading from {self.host}:{self.port}\")\n",
];

/// Node.js stack bodies.
pub(crate) const NODE_STACKS: &[&str] = &[
    "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)\n    at TCPConnectWrap.callbackTrampoline (node:internal/async_hooks:130:17)",
    "    at CartClient.fetchCart (/app/dist/clients/cart.js:48:19)\n    at async renderCart (/app/dist/pages/cart.js:22:18)\n    at async /app/dist/server.js:131:9",
];

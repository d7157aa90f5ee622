//! The series of one host as node_exporter (plus a small instrumented service) exposes them.
//!
//! Hosts differ the way a real fleet does: CPU count, disks, network devices, mounts and
//! memory size are drawn per host, so the per-host series count varies (about 180 to 340).

use crate::model::{HistGroup, Model, Scale};
use crate::rng::Rng;

/// One series: its sorted label set and its value process.
#[derive(Debug, Clone)]
pub(crate) struct SeriesDef {
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) host: u32,
}

/// Prometheus client libraries' default buckets.
static DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const CPU_MODES: [&str; 8] = [
    "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
];

const MOUNTS: [(&str, &str, &str); 6] = [
    ("/dev/nvme0n1p1", "ext4", "/"),
    ("/dev/nvme0n1p15", "vfat", "/boot/efi"),
    ("tmpfs", "tmpfs", "/run"),
    ("/dev/nvme1n1", "xfs", "/var/lib/data"),
    ("tmpfs", "tmpfs", "/dev/shm"),
    ("/dev/nvme0n1p2", "ext4", "/var/log"),
];

const NET_DEVICES: [&str; 4] = ["eth0", "lo", "eth1", "docker0"];
const DISKS: [&str; 3] = ["nvme0n1", "nvme1n1", "sda"];
const KERNELS: [&str; 3] = ["5.15.0-91-generic", "6.1.0-18-amd64", "6.8.0-45-generic"];
const GIB: i64 = 1 << 30;

/// Collects one host's series until the global series budget is spent.
pub(crate) struct HostBuilder<'a> {
    pub(crate) host: u32,
    pub(crate) instance: String,
    pub(crate) interval_s: f64,
    pub(crate) limit: usize,
    pub(crate) series: &'a mut Vec<SeriesDef>,
    pub(crate) models: &'a mut Vec<Model>,
    pub(crate) groups: &'a mut Vec<HistGroup>,
    pub(crate) rng: &'a mut Rng,
}

impl HostBuilder<'_> {
    fn add(&mut self, name: &str, extra: &[(&str, &str)], model: Model) {
        if self.series.len() >= self.limit {
            return;
        }
        let mut labels = Vec::with_capacity(extra.len() + 3);
        labels.push(("__name__".to_owned(), name.to_owned()));
        labels.push(("instance".to_owned(), self.instance.clone()));
        labels.push(("job".to_owned(), "node".to_owned()));
        labels.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        labels.sort();
        self.series.push(SeriesDef {
            labels,
            host: self.host,
        });
        self.models.push(model);
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.rng.f64()
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.rng.below(xs.len() as u64) as usize]
    }

    /// A counter that has been running for `uptime_s` at about `per_second` ticks.
    fn running_counter(&mut self, uptime_s: f64, per_second: f64, scale: Scale) -> Model {
        let start = uptime_s * per_second * self.uniform(0.7, 1.3);
        Model::counter(start, per_second, self.interval_s, scale)
    }

    /// A gauge in units of `unit` bytes starting near `frac` of `total_bytes`.
    fn bytes_gauge(
        &mut self,
        total_bytes: i64,
        frac: f64,
        sd_frac: f64,
        p: f64,
        unit: i64,
    ) -> Model {
        let total = total_bytes / unit;
        let start = (total as f64 * frac * self.uniform(0.8, 1.2)) as i64;
        Model::gauge(
            start,
            0,
            total,
            total as f64 * sd_frac,
            p,
            Scale::Unit(unit as f64),
        )
    }

    /// Builds every family for this host.
    pub(crate) fn build(&mut self, now_s: f64) {
        let ncpu = self.pick(&[2usize, 4, 4, 8, 8, 16]);
        let uptime_s = self.uniform(3600.0, 90.0 * 86400.0);
        let busy = self.uniform(0.03, 0.6);
        let mem_bytes = self.pick(&[8, 16, 32, 64, 128]) * GIB;

        self.scrape_series();
        self.cpu(ncpu, uptime_s, busy);
        self.load(ncpu, busy);
        self.memory(mem_bytes);
        self.filesystems();
        self.network(uptime_s);
        self.disks(uptime_s, busy);
        self.kernel(ncpu, uptime_s, busy, now_s);
        self.runtime(uptime_s, now_s);
        self.histograms();
    }

    fn scrape_series(&mut self) {
        self.add("up", &[], Model::Const(1.0));
        let d = Model::Noise {
            mean: self.uniform(0.01, 0.08),
            sd: 0.004,
            min: 0.001,
            divisor: None,
        };
        self.add("scrape_duration_seconds", &[], d);
        let n = self.uniform(180.0, 340.0).round();
        self.add("scrape_samples_scraped", &[], Model::Const(n));
        self.add(
            "scrape_samples_post_metric_relabeling",
            &[],
            Model::Const(n),
        );
        self.add("scrape_series_added", &[], Model::Const(0.0));
    }

    fn cpu(&mut self, ncpu: usize, uptime_s: f64, busy: f64) {
        let shares = [
            1.0 - busy,
            busy * 0.05,
            busy * 0.005,
            busy * 0.003,
            busy * 0.03,
            busy * 0.02,
            busy * 0.22,
            busy * 0.672,
        ];
        for cpu in 0..ncpu {
            let cpu_s = cpu.to_string();
            for (mode, share) in CPU_MODES.iter().zip(shares) {
                // CPU time is exported in USER_HZ ticks of 0.01 s.
                let m = self.running_counter(uptime_s, share * 100.0, Scale::Decimal(100.0));
                self.add(
                    "node_cpu_seconds_total",
                    &[("cpu", &cpu_s), ("mode", mode)],
                    m,
                );
            }
        }
    }

    fn load(&mut self, ncpu: usize, busy: f64) {
        let level = (busy * ncpu as f64 * 100.0) as i64;
        let max = (ncpu as i64) * 300;
        for (name, sd) in [
            ("node_load1", 12.0),
            ("node_load5", 5.0),
            ("node_load15", 2.0),
        ] {
            let m = Model::gauge(level, 0, max, sd, 1.0, Scale::Decimal(100.0));
            self.add(name, &[], m);
        }
    }

    fn memory(&mut self, total: i64) {
        self.add(
            "node_memory_MemTotal_bytes",
            &[],
            Model::Const(total as f64),
        );
        // /proc/meminfo is in kB: every value is a multiple of 1024.
        let kb = 1024;
        let fields: [(&str, f64, f64, f64); 18] = [
            ("MemFree", 0.25, 0.002, 1.0),
            ("MemAvailable", 0.55, 0.002, 1.0),
            ("Buffers", 0.02, 0.0002, 0.9),
            ("Cached", 0.3, 0.001, 1.0),
            ("Active", 0.35, 0.001, 1.0),
            ("Inactive", 0.2, 0.001, 1.0),
            ("Active_anon", 0.2, 0.001, 1.0),
            ("Inactive_anon", 0.05, 0.0005, 1.0),
            ("Dirty", 0.0005, 0.0002, 1.0),
            ("Writeback", 0.0, 0.00001, 0.05),
            ("AnonPages", 0.2, 0.001, 1.0),
            ("Mapped", 0.03, 0.0002, 0.8),
            ("Shmem", 0.01, 0.00005, 0.5),
            ("Slab", 0.04, 0.0002, 1.0),
            ("SReclaimable", 0.03, 0.0002, 1.0),
            ("SUnreclaim", 0.01, 0.00005, 1.0),
            ("PageTables", 0.005, 0.00002, 0.9),
            ("Committed_AS", 0.6, 0.002, 1.0),
        ];
        for (field, frac, sd, p) in fields {
            let m = self.bytes_gauge(total, frac, sd, p, kb);
            self.add(&format!("node_memory_{field}_bytes"), &[], m);
        }
        let stack = self.bytes_gauge(total / 256, 0.5, 0.002, 0.9, 16 * kb);
        self.add("node_memory_KernelStack_bytes", &[], stack);
        let swap = if self.rng.chance(0.3) { 2 * GIB } else { 0 };
        self.add(
            "node_memory_SwapTotal_bytes",
            &[],
            Model::Const(swap as f64),
        );
        self.add("node_memory_SwapFree_bytes", &[], Model::Const(swap as f64));
        self.add("node_memory_HugePages_Total", &[], Model::Const(0.0));
        self.add(
            "node_memory_Hugepagesize_bytes",
            &[],
            Model::Const(2_097_152.0),
        );
    }

    fn filesystems(&mut self) {
        let n = 3 + self.rng.below(4) as usize;
        for &(device, fstype, mountpoint) in MOUNTS.iter().take(n) {
            let l = [
                ("device", device),
                ("fstype", fstype),
                ("mountpoint", mountpoint),
            ];
            let size = self.pick(&[1i64, 8, 50, 200, 1000]) * GIB;
            self.add("node_filesystem_size_bytes", &l, Model::Const(size as f64));
            let used = self.uniform(0.05, 0.9);
            let churn = if fstype == "tmpfs" { 0.00001 } else { 0.0002 };
            let free = self.bytes_gauge(size, 1.0 - used, churn, 0.7, 4096);
            self.add("node_filesystem_free_bytes", &l, free);
            let avail = self.bytes_gauge(size, 0.95 - used, churn, 0.7, 4096);
            self.add("node_filesystem_avail_bytes", &l, avail);
            let files = (size / 16384) as f64;
            self.add("node_filesystem_files", &l, Model::Const(files));
            let ff = (files * self.uniform(0.5, 0.99)) as i64;
            let files_free = Model::gauge(ff, 0, files as i64, 4.0, 0.3, Scale::Unit(1.0));
            self.add("node_filesystem_files_free", &l, files_free);
            self.add("node_filesystem_readonly", &l, Model::Const(0.0));
            self.add("node_filesystem_device_error", &l, Model::Const(0.0));
        }
    }

    fn network(&mut self, uptime_s: f64) {
        let n = 2 + self.rng.below(3) as usize;
        for &dev in NET_DEVICES.iter().take(n) {
            let l = [("device", dev)];
            let rate = match dev {
                "lo" => self.uniform(1e3, 1e5),
                _ => self.uniform(1e4, 2e7),
            };
            for dir in ["receive", "transmit"] {
                let r = rate * self.uniform(0.3, 1.5);
                let bytes = self.running_counter(uptime_s, r, Scale::Unit(1.0));
                self.add(&format!("node_network_{dir}_bytes_total"), &l, bytes);
                let u = self.uniform(300.0, 1400.0);
                let pkts = self.running_counter(uptime_s, r / u, Scale::Unit(1.0));
                self.add(&format!("node_network_{dir}_packets_total"), &l, pkts);
                let errs = Model::rare_counter(self.rng.below(3), 0.0005, 1.0);
                self.add(&format!("node_network_{dir}_errs_total"), &l, errs);
                let drop = Model::rare_counter(self.rng.below(40), 0.01, 2.0);
                self.add(&format!("node_network_{dir}_drop_total"), &l, drop);
            }
            self.add("node_network_up", &l, Model::Const(1.0));
            let mtu = if dev == "lo" { 65536.0 } else { 1500.0 };
            self.add("node_network_mtu_bytes", &l, Model::Const(mtu));
        }
    }

    fn disks(&mut self, uptime_s: f64, busy: f64) {
        let n = 1 + self.rng.below(3) as usize;
        for &dev in DISKS.iter().take(n) {
            let l = [("device", dev)];
            let reads = self.uniform(0.5, 200.0);
            let writes = self.uniform(5.0, 400.0);
            let m = self.running_counter(uptime_s, reads, Scale::Unit(1.0));
            self.add("node_disk_reads_completed_total", &l, m);
            let m = self.running_counter(uptime_s, writes, Scale::Unit(1.0));
            self.add("node_disk_writes_completed_total", &l, m);
            let m = self.running_counter(uptime_s, reads * 0.05, Scale::Unit(1.0));
            self.add("node_disk_reads_merged_total", &l, m);
            let m = self.running_counter(uptime_s, writes * 0.3, Scale::Unit(1.0));
            self.add("node_disk_writes_merged_total", &l, m);
            // Sectors of 512 bytes.
            let u = self.uniform(8.0, 64.0);
            let m = self.running_counter(uptime_s, reads * u, Scale::Unit(512.0));
            self.add("node_disk_read_bytes_total", &l, m);
            let u = self.uniform(8.0, 32.0);
            let m = self.running_counter(uptime_s, writes * u, Scale::Unit(512.0));
            self.add("node_disk_written_bytes_total", &l, m);
            // Milliseconds.
            let m = self.running_counter(uptime_s, reads * 0.2, Scale::Decimal(1000.0));
            self.add("node_disk_read_time_seconds_total", &l, m);
            let m = self.running_counter(uptime_s, writes * 0.5, Scale::Decimal(1000.0));
            self.add("node_disk_write_time_seconds_total", &l, m);
            let m = self.running_counter(uptime_s, busy * 1000.0 * 0.4, Scale::Decimal(1000.0));
            self.add("node_disk_io_time_seconds_total", &l, m);
            self.add(
                "node_disk_io_now",
                &l,
                Model::gauge(0, 0, 16, 1.0, 0.2, Scale::Unit(1.0)),
            );
        }
    }

    fn kernel(&mut self, ncpu: usize, uptime_s: f64, busy: f64, now_s: f64) {
        let cs = self.uniform(1e3, 5e4) * ncpu as f64;
        let m = self.running_counter(uptime_s, cs, Scale::Unit(1.0));
        self.add("node_context_switches_total", &[], m);
        let m = self.running_counter(uptime_s, cs * 0.6, Scale::Unit(1.0));
        self.add("node_intr_total", &[], m);
        let u = self.uniform(0.5, 20.0);
        let m = self.running_counter(uptime_s, u, Scale::Unit(1.0));
        self.add("node_forks_total", &[], m);
        let running = (busy * ncpu as f64).ceil() as i64;
        let m = Model::gauge(running, 0, 4 * ncpu as i64, 1.0, 0.6, Scale::Unit(1.0));
        self.add("node_procs_running", &[], m);
        self.add(
            "node_procs_blocked",
            &[],
            Model::gauge(0, 0, 4, 0.6, 0.1, Scale::Unit(1.0)),
        );
        let fds = self.uniform(1000.0, 20000.0) as i64;
        let m = Model::gauge(fds, 500, 60000, 8.0, 0.9, Scale::Unit(1.0));
        self.add("node_filefd_allocated", &[], m);
        self.add(
            "node_filefd_maximum",
            &[],
            Model::Const(9.223372036854776e18),
        );
        let boot = (now_s - uptime_s).floor();
        self.add("node_boot_time_seconds", &[], Model::Const(boot));
        self.add("node_time_seconds", &[], Model::Wallclock);
        self.add("node_entropy_available_bits", &[], Model::Const(256.0));
        let m = Model::gauge(
            self.uniform(5.0, 500.0) as i64,
            0,
            5000,
            3.0,
            0.8,
            Scale::Unit(1.0),
        );
        self.add("node_sockstat_TCP_inuse", &[], m);
        let u = self.uniform(0.1, 30.0);
        let m = self.running_counter(uptime_s, u, Scale::Unit(1.0));
        self.add("node_netstat_Tcp_ActiveOpens", &[], m);
        let m = self.running_counter(uptime_s, cs * 0.3, Scale::Unit(1.0));
        self.add("node_vmstat_pgfault", &[], m);
        let m = Model::rare_counter(self.rng.below(50_000), 0.1, 5.0);
        self.add("node_vmstat_pgmajfault", &[], m);
        let offset = Model::Noise {
            mean: 0.0,
            sd: 0.0002,
            min: -1.0,
            divisor: Some(1e9),
        };
        self.add("node_timex_offset_seconds", &[], offset);
        let release = self.pick(&KERNELS);
        let node = self
            .instance
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        let l = [
            ("domainname", "(none)"),
            ("machine", "x86_64"),
            ("nodename", node.as_str()),
            ("release", release),
            ("sysname", "Linux"),
            ("version", "#1 SMP PREEMPT_DYNAMIC"),
        ];
        self.add("node_uname_info", &l, Model::Const(1.0));
    }

    fn runtime(&mut self, uptime_s: f64, now_s: f64) {
        self.add(
            "go_goroutines",
            &[],
            Model::gauge(8, 6, 14, 1.0, 0.3, Scale::Unit(1.0)),
        );
        let u = self.uniform(6.0, 12.0);
        self.add("go_threads", &[], Model::Const(u.round()));
        let alloc = self.uniform(2e6, 6e6) as i64 / 8;
        let m = Model::gauge(alloc, 100_000, 2_000_000, 20_000.0, 1.0, Scale::Unit(8.0));
        self.add("go_memstats_alloc_bytes", &[], m);
        let m = Model::gauge(alloc / 900, 100, 2000, 8.0, 0.6, Scale::Unit(8192.0));
        self.add("go_memstats_heap_inuse_bytes", &[], m);
        for (q, base) in [
            ("0", 2e4),
            ("0.25", 4e4),
            ("0.5", 6e4),
            ("0.75", 9e4),
            ("1", 3e5),
        ] {
            let ns = (base * self.uniform(0.5, 2.0)) as i64;
            let m = Model::gauge(
                ns,
                ns / 4,
                ns * 4,
                ns as f64 * 0.1,
                0.3,
                Scale::Decimal(1e9),
            );
            self.add("go_gc_duration_seconds", &[("quantile", q)], m);
        }
        let gcs = self.uniform(0.02, 0.2);
        let m = self.running_counter(uptime_s, gcs * 8e4, Scale::Decimal(1e9));
        self.add("go_gc_duration_seconds_sum", &[], m);
        let m = self.running_counter(uptime_s, gcs, Scale::Unit(1.0));
        self.add("go_gc_duration_seconds_count", &[], m);
        let u = self.uniform(0.2, 3.0);
        let m = self.running_counter(uptime_s, u, Scale::Decimal(100.0));
        self.add("process_cpu_seconds_total", &[], m);
        let rss = self.uniform(1.5e7, 3e7) as i64 / 4096;
        let m = Model::gauge(rss, rss / 2, rss * 2, 3.0, 0.7, Scale::Unit(4096.0));
        self.add("process_resident_memory_bytes", &[], m);
        self.add(
            "process_open_fds",
            &[],
            Model::gauge(10, 8, 20, 0.5, 0.1, Scale::Unit(1.0)),
        );
        let start = ((now_s - uptime_s) * 100.0).round() / 100.0;
        self.add("process_start_time_seconds", &[], Model::Const(start));
        // One scrape per interval: the handler counter moves by exactly one.
        let m = Model::counter(
            uptime_s / self.interval_s,
            1.0 / self.interval_s,
            self.interval_s,
            Scale::Unit(1.0),
        );
        self.add(
            "promhttp_metric_handler_requests_total",
            &[("code", "200")],
            m,
        );
        self.add(
            "promhttp_metric_handler_requests_total",
            &[("code", "500")],
            Model::Const(0.0),
        );
        self.add(
            "promhttp_metric_handler_requests_total",
            &[("code", "503")],
            Model::Const(0.0),
        );
    }

    fn histograms(&mut self) {
        let handlers = [("/api/v1/query", 3.0, 0.04), ("/api/v1/push", 20.0, 0.008)];
        for (handler, rate, median) in handlers {
            let group = self.groups.len() as u32;
            let per_second = rate * self.uniform(0.2, 2.0);
            let g = HistGroup::new(&DEFAULT_BUCKETS, per_second, self.interval_s, median, 1.1);
            let buckets = g.bucket_count();
            self.groups.push(g);
            let base = [("code", "200"), ("handler", handler), ("method", "POST")];
            for b in 0..buckets {
                let le = DEFAULT_BUCKETS
                    .get(b)
                    .map_or_else(|| "+Inf".to_owned(), |x| x.to_string());
                let mut l = base.to_vec();
                l.push(("le", &le));
                let m = Model::HistBucket {
                    group,
                    bucket: b as u16,
                };
                self.add("http_request_duration_seconds_bucket", &l, m);
            }
            self.add(
                "http_request_duration_seconds_sum",
                &base,
                Model::HistSum { group },
            );
            self.add(
                "http_request_duration_seconds_count",
                &base,
                Model::HistCount { group },
            );
        }
    }
}

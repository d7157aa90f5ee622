#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_wire_fuzz::otlp_metrics(data));

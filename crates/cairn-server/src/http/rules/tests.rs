use super::*;

#[test]
fn alert_values_print_like_go() {
    assert_eq!(format_e(1.0), "1e+00");
    assert_eq!(format_e(0.0), "0e+00");
    assert_eq!(format_e(1234.5), "1.2345e+03");
    assert_eq!(format_e(-0.00015), "-1.5e-04");
    assert_eq!(format_e(1e100), "1e+100");
    assert_eq!(format_e(f64::NAN), "NaN");
    assert_eq!(format_e(f64::INFINITY), "+Inf");
}

#[test]
fn times_print_like_go() {
    assert_eq!(go_time(None), "0001-01-01T00:00:00Z");
    assert_eq!(ms_time(40_000), "1970-01-01T00:00:40Z");
    assert_eq!(ms_time(40_123), "1970-01-01T00:00:40.123Z");
}

// libFuzzer target: what people and daemons write for times, durations,
// sizes and archive file names (time_arg.hpp, time_window.hpp,
// archive.hpp's start_from_name). The input is split at its first newline
// into two texts (--since and --until, say). Nothing crashes, overflows
// (UBSan) or throws anything but usage_error; a window is never empty.
#include "capture/engine/archive.hpp"
#include "capture/sys/time_arg.hpp"
#include "capture/engine/time_window.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string input(reinterpret_cast<const char*>(data), size);
    auto nl = input.find('\n');
    std::string a = input.substr(0, nl), b = nl == std::string::npos ? std::string() : input.substr(nl + 1);
    const std::int64_t now = 1764100000;  // fixed: the same input always takes the same path
    try {
        (void)capture::parse_duration(a, "fuzz");
    } catch (const capture::usage_error&) {
    }
    try {
        (void)capture::parse_size(a, "fuzz");
    } catch (const capture::usage_error&) {
    }
    try {
        (void)capture::parse_time_arg(a, "fuzz", now);
    } catch (const capture::usage_error&) {
    }
    (void)capture::parse_iso8601(a, 0);
    try {
        capture::timestamp t = capture::parse_time_point(a, "fuzz", now);
        if (t.nsec >= 1000000000u) std::abort();
    } catch (const capture::usage_error&) {
    }
    try {
        capture::time_window w = capture::make_time_window(a, b, now);
        if (w.has_since && w.has_until && w.empty()) std::abort();
    } catch (const capture::usage_error&) {
    }
    (void)capture::start_from_name(a);
    return 0;
}

// Times as records, people and file names show them.
//
// Records carry UTC ISO 8601 with 'Z' and every digit of precision the
// source has; people read the original tool's ctime-like form in their
// local time; file names carry "Tue.Feb17.2009-20.20.22.UTC".
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace capture {

namespace detail {
inline std::tm utc_tm(std::int64_t sec) {
    std::time_t t = static_cast<std::time_t>(sec);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    return tm;
}
inline std::tm local_tm(std::int64_t sec) {
    std::time_t t = static_cast<std::time_t>(sec);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    return tm;
}
}  // namespace detail

/// "2009-02-17T20:20:22.123456Z": UTC, with digits (0..9) fractional
/// digits taken from nsec (nanoseconds, below 10^9).
inline std::string format_iso8601(std::int64_t sec, std::uint32_t nsec = 0, int digits = 0) {
    std::tm tm = detail::utc_tm(sec);
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    std::string out(buf, static_cast<std::size_t>(n));
    if (digits > 0) {
        if (digits > 9) digits = 9;
        char frac[16];
        std::snprintf(frac, sizeof frac, "%09u", static_cast<unsigned>(nsec % 1000000000u));
        out += '.';
        out.append(frac, static_cast<std::size_t>(digits));
    }
    return out + 'Z';
}

/// "Tue Feb 17 15:20:22 2009" in local time, as the original capture
/// printed for people.
inline std::string format_human_time(std::int64_t sec) {
    std::tm tm = detail::local_tm(sec);
    char buf[64];
    std::size_t n = std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
    return std::string(buf, n);
}

/// "Tue.Feb17.2009-20.20.22.UTC": the stamp in capture file names (UTC).
inline std::string format_name_stamp(std::int64_t sec) {
    std::tm tm = detail::utc_tm(sec);
    char buf[64];
    std::size_t n = std::strftime(buf, sizeof buf, "%a.%b%d.%Y-%H.%M.%S.UTC", &tm);
    return std::string(buf, n);
}

/// A duration in seconds for people: "3 h 02 min 05 s", "12.5 s".
inline std::string format_duration(double seconds) {
    if (seconds < 60) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f s", seconds);
        return buf;
    }
    auto total = static_cast<std::int64_t>(seconds);
    std::int64_t d = total / 86400, h = total / 3600 % 24, m = total / 60 % 60, s = total % 60;
    char buf[64];
    if (d > 0) std::snprintf(buf, sizeof buf, "%lld d %02lld h %02lld min %02lld s", static_cast<long long>(d),
                             static_cast<long long>(h), static_cast<long long>(m), static_cast<long long>(s));
    else if (h > 0) std::snprintf(buf, sizeof buf, "%lld h %02lld min %02lld s", static_cast<long long>(h),
                                  static_cast<long long>(m), static_cast<long long>(s));
    else std::snprintf(buf, sizeof buf, "%lld min %02lld s", static_cast<long long>(m), static_cast<long long>(s));
    return buf;
}

/// A byte count for people, in binary units: "1.5 MiB", "812 bytes".
inline std::string format_bytes_human(std::uint64_t bytes) {
    static const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024) return std::to_string(bytes) + " bytes";
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
    return buf;
}

}  // namespace capture

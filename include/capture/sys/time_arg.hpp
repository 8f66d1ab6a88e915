// What people type for times, durations and sizes on the command line and
// in the configuration: "90s", "2h", "1d"; "100M", "2G"; "yesterday",
// "2026-11-25", "-2h", "@1700000000".
//
// Dates without a zone are local time, as a person means them; a trailing
// 'Z' makes them UTC. This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/error.hpp"

#include <cctype>
#include <cstdint>
#include <ctime>
#include <limits>
#include <string>
#include <string_view>

namespace capture {

namespace detail {

/// Reads an unsigned decimal number at the front of text; false when none
/// or when it overflows.
inline bool leading_number(std::string_view& text, std::uint64_t& value) {
    std::size_t i = 0;
    value = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
        value = value * 10 + digit;
        ++i;
    }
    if (i == 0) return false;
    text.remove_prefix(i);
    return true;
}

}  // namespace detail

/// Seconds in "N", "Ns", "Nm", "Nh", "Nd" or "Nw" (and runs of them:
/// "1h30m"). Throws usage_error naming what for anything else.
inline std::uint64_t parse_duration(std::string_view text, std::string_view what) {
    auto bad = [&] { return usage_error(std::string(what) + ": '" + std::string(text) +
                                        "' is not a duration (like 90s, 30m, 2h, 1d)"); };
    std::string_view rest = text;
    if (rest.empty()) throw bad();
    std::uint64_t total = 0;
    while (!rest.empty()) {
        std::uint64_t n;
        if (!detail::leading_number(rest, n)) throw bad();
        std::uint64_t unit = 1;
        if (!rest.empty()) {
            switch (rest.front()) {
                case 's': unit = 1; break;
                case 'm': unit = 60; break;
                case 'h': unit = 3600; break;
                case 'd': unit = 86400; break;
                case 'w': unit = 7 * 86400; break;
                default: throw bad();
            }
            rest.remove_prefix(1);
        } else if (total != 0) {
            throw bad();  // "1h30" is ambiguous: say the unit
        }
        // The total stays far inside an int64_t, so callers may take it from
        // a time: each term alone was bounded, but "1h...1h" added up past it.
        constexpr std::uint64_t limit = std::numeric_limits<std::int64_t>::max() / 2;
        if (n > limit / unit || n * unit > limit - total) throw bad();
        total += n * unit;
    }
    return total;
}

/// Bytes in "N", "NK", "NM", "NG", "NT" (binary multiples; "KiB", "MB"
/// and friends are read the same way). Throws usage_error naming what.
inline std::uint64_t parse_size(std::string_view text, std::string_view what) {
    auto bad = [&] { return usage_error(std::string(what) + ": '" + std::string(text) +
                                        "' is not a size (like 500K, 100M, 2G)"); };
    std::string_view rest = text;
    std::uint64_t n;
    if (!detail::leading_number(rest, n)) throw bad();
    std::uint64_t unit = 1;
    if (!rest.empty()) {
        switch (std::toupper(static_cast<unsigned char>(rest.front()))) {
            case 'B': unit = 1; break;
            case 'K': unit = 1ull << 10; break;
            case 'M': unit = 1ull << 20; break;
            case 'G': unit = 1ull << 30; break;
            case 'T': unit = 1ull << 40; break;
            default: throw bad();
        }
        rest.remove_prefix(1);
        if (rest == "iB" || rest == "B" || rest == "ib" || rest == "b") rest = {};
        if (!rest.empty()) throw bad();
    }
    if (unit > 1 && n > std::numeric_limits<std::uint64_t>::max() / unit) throw bad();
    return n * unit;
}

/// A point in time (seconds since the epoch) from "now", "today",
/// "yesterday", "-2h" (before now), "@EPOCH", "YYYY-MM-DD",
/// "YYYY-MM-DD HH:MM[:SS]" or "YYYY-MM-DDTHH:MM[:SS][Z]". now is the
/// present, passed in so tests are exact. Throws usage_error naming what.
inline std::int64_t parse_time_arg(std::string_view text, std::string_view what, std::int64_t now) {
    auto bad = [&] {
        return usage_error(std::string(what) + ": '" + std::string(text) +
                           "' is not a time (like yesterday, -2h, 2026-11-25, 2026-11-25T08:00:00Z, @1700000000)");
    };
    auto start_of_day = [](std::int64_t t) {
        std::time_t tt = static_cast<std::time_t>(t);
        std::tm tm{};
        ::localtime_r(&tt, &tm);
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_isdst = -1;
        return static_cast<std::int64_t>(std::mktime(&tm));
    };
    if (text == "now") return now;
    if (text == "today") return start_of_day(now);
    if (text == "yesterday") return start_of_day(start_of_day(now) - 12 * 3600);
    if (!text.empty() && text.front() == '-') {
        return now - static_cast<std::int64_t>(parse_duration(text.substr(1), what));
    }
    if (!text.empty() && text.front() == '@') {
        std::string_view rest = text.substr(1);
        std::uint64_t n;
        if (!detail::leading_number(rest, n) || !rest.empty() ||
            n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            throw bad();
        return static_cast<std::int64_t>(n);
    }
    std::string s(text);
    bool utc = !s.empty() && s.back() == 'Z';
    if (utc) s.pop_back();
    std::tm tm{};
    const char* end = nullptr;
    for (const char* format : {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                               "%Y-%m-%d"}) {
        tm = std::tm{};
        end = ::strptime(s.c_str(), format, &tm);
        if (end && *end == '\0') break;
        end = nullptr;
    }
    if (!end) throw bad();
    tm.tm_isdst = -1;
    return utc ? static_cast<std::int64_t>(::timegm(&tm)) : static_cast<std::int64_t>(std::mktime(&tm));
}

/// Seconds since the epoch from a record's "2009-02-17T20:20:22Z" (any
/// fraction ignored); nothing usable gives fallback.
inline std::int64_t parse_iso8601(std::string_view text, std::int64_t fallback = 0) {
    std::string s(text.substr(0, 19));
    std::tm tm{};
    const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end || *end != '\0') return fallback;
    return static_cast<std::int64_t>(::timegm(&tm));
}

}  // namespace capture

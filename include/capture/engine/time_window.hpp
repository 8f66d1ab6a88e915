// The time window of a pull: [since, until), to the nanosecond.
//
// cap-pull's times are UTC, as packet times are and as analysts write them
// in incident notes: "2026-11-25T08:00:00Z", "2026-11-25 08:00" (UTC with
// or without the Z; an explicit +HH:MM or -HH:MM offset is honoured),
// "2026-11-25" (UTC midnight), "@1700000000.5", "now", "today" and
// "yesterday" (UTC midnights), and times before now: "-2h", "-30m", "-1d",
// "-1h30m" (time_arg.hpp's durations). This differs on purpose from
// time_arg.hpp's parse_time_arg, which reads zone-less dates in local time
// for cap-ls's days: a pull is about packets, whose times are UTC.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/engine/archive.hpp"
#include "capture/pcap/capture_reader.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/time_arg.hpp"
#include "capture/sys/time_format.hpp"

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace capture {

/// A half-open window of packet times: since <= t < until.
struct time_window {
    timestamp since{time_min, 0};  ///< the first instant inside
    timestamp until{time_max, 0};  ///< the first instant after
    bool has_since = false;        ///< --since was given
    bool has_until = false;        ///< --until was given

    /// True when t lies inside. Throws nothing.
    bool contains(const timestamp& t) const noexcept { return !(t < since) && t < until; }
    /// True when no instant lies inside. Throws nothing.
    bool empty() const noexcept { return !(since < until); }
    /// since, in whole seconds rounded down. Throws nothing.
    std::int64_t since_second() const noexcept { return since.sec; }
    /// until, in whole seconds rounded up. Throws nothing.
    std::int64_t until_second() const noexcept { return until.nsec ? until.sec + 1 : until.sec; }
};

namespace detail {

inline std::int64_t utc_midnight(std::int64_t t) {
    std::int64_t day = t / 86400;
    if (t % 86400 < 0) --day;
    return day * 86400;
}

// Reads "[.fraction]" (1 to 9 digits) at the front of s into nanoseconds.
inline bool read_fraction(std::string_view& s, std::uint32_t& nsec) {
    nsec = 0;
    if (s.empty() || (s.front() != '.' && s.front() != ',')) return true;
    s.remove_prefix(1);
    std::size_t n = 0;
    std::uint32_t scale = 100000000;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
        if (n < 9) nsec += static_cast<std::uint32_t>(s[n] - '0') * scale;
        scale /= 10;
        ++n;
    }
    if (n == 0) return false;
    s.remove_prefix(n);
    return true;
}

// Reads an unsigned decimal number at the front of s (not time_arg.hpp's
// own helper, which is internal to it); false when none or too large.
inline bool read_number(std::string_view& s, std::uint64_t& value) {
    std::size_t i = 0;
    value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        if (value > (static_cast<std::uint64_t>(time_max) - 9) / 10) return false;
        value = value * 10 + static_cast<std::uint64_t>(s[i] - '0');
        ++i;
    }
    if (i == 0) return false;
    s.remove_prefix(i);
    return true;
}

// Reads exactly count digits at the front of s.
inline bool read_digits(std::string_view& s, std::size_t count, int& value) {
    if (s.size() < count) return false;
    value = 0;
    for (std::size_t i = 0; i < count; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        value = value * 10 + (s[i] - '0');
    }
    s.remove_prefix(count);
    return true;
}

}  // namespace detail

/// The instant text names (see the header comment); now is the present,
/// passed in so tests are exact. Throws usage_error naming what (the
/// option) and the text.
inline timestamp parse_time_point(std::string_view text, std::string_view what, std::int64_t now) {
    auto bad = [&] {
        return usage_error(std::string(what) + ": '" + std::string(text) +
                           "' is not a time (like 2026-11-25T08:00:00Z, 2026-11-25, @1700000000, -2h, yesterday)");
    };
    if (text == "now") return {now, 0};
    if (text == "today") return {detail::utc_midnight(now), 0};
    if (text == "yesterday") return {detail::utc_midnight(now) - 86400, 0};
    if (!text.empty() && text.front() == '-') {
        std::uint64_t back = parse_duration(text.substr(1), what);
        if (back > static_cast<std::uint64_t>(time_max)) throw bad();
        return {now - static_cast<std::int64_t>(back), 0};
    }
    if (!text.empty() && text.front() == '@') {
        std::string_view rest = text.substr(1);
        std::uint64_t sec;
        if (!detail::read_number(rest, sec) || sec > static_cast<std::uint64_t>(time_max)) throw bad();
        std::uint32_t nsec;
        if (!detail::read_fraction(rest, nsec) || !rest.empty()) throw bad();
        return {static_cast<std::int64_t>(sec), nsec};
    }
    std::string_view s = text;
    int year, month, day, hour = 0, minute = 0, second = 0;
    std::uint32_t nsec = 0;
    auto expect = [&s](char c) {
        if (s.empty() || s.front() != c) return false;
        s.remove_prefix(1);
        return true;
    };
    if (!detail::read_digits(s, 4, year) || !expect('-') || !detail::read_digits(s, 2, month) || !expect('-') ||
        !detail::read_digits(s, 2, day))
        throw bad();
    if (!s.empty() && (s.front() == 'T' || s.front() == 't' || s.front() == ' ')) {
        s.remove_prefix(1);
        if (!detail::read_digits(s, 2, hour) || !expect(':') || !detail::read_digits(s, 2, minute)) throw bad();
        if (!s.empty() && s.front() == ':') {
            s.remove_prefix(1);
            if (!detail::read_digits(s, 2, second) || !detail::read_fraction(s, nsec)) throw bad();
        }
    }
    std::int64_t offset = 0;
    if (s == "Z" || s == "z") {
        s = {};
    } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        int sign = s.front() == '-' ? -1 : 1;
        s.remove_prefix(1);
        int oh, om = 0;
        if (!detail::read_digits(s, 2, oh)) throw bad();
        if (!s.empty()) {
            expect(':');
            if (!detail::read_digits(s, 2, om)) throw bad();
        }
        if (oh > 23 || om > 59) throw bad();
        offset = sign * (oh * 3600 + om * 60);
    }
    if (!s.empty() || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        throw bad();
    std::tm tm = detail::calendar_tm(year, month, day, hour, minute, second);
    std::int64_t t = static_cast<std::int64_t>(::timegm(&tm));
    if (tm.tm_mday != day) throw bad();  // 2026-02-30 normalised into March: refuse it
    return {t - offset, nsec};
}

/// The window of --since and --until (either may be empty: unbounded).
/// Throws usage_error for a time that cannot be read, or when until is
/// not after since.
inline time_window make_time_window(const std::string& since, const std::string& until, std::int64_t now) {
    time_window w;
    if (!since.empty()) {
        w.since = parse_time_point(since, "--since", now);
        w.has_since = true;
    }
    if (!until.empty()) {
        w.until = parse_time_point(until, "--until", now);
        w.has_until = true;
    }
    if (w.has_since && w.has_until && !(w.since < w.until))
        throw usage_error("--until (" + format_iso8601(w.until.sec, w.until.nsec, w.until.nsec ? 9 : 0) +
                          ") is not after --since (" + format_iso8601(w.since.sec, w.since.nsec, w.since.nsec ? 9 : 0) +
                          ")");
    return w;
}

}  // namespace capture

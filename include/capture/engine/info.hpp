// What is in a capture file: the figures capinfos gives, computed in one
// pass of the reader.
//
// The figures follow capinfos so the two can be checked against each other:
// "first" and "last" are the earliest and the latest timestamps (not the
// first and last records: an out-of-order file has them elsewhere), the
// data size is the sum of the lengths on the wire (not the captured
// lengths: a sliced capture is sized by the traffic it saw), and packets without a
// timestamp (pcapng Simple Packet Blocks) count as packets but not as times.
#pragma once

#include "capture/pcap/capture_reader.hpp"
#include "capture/sys/error.hpp"
#include "capture/pcap/linktype.hpp"
#include "capture/text/record.hpp"
#include "capture/sys/time_format.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace capture {

/// The figures of one capture file.
struct capture_summary {
    std::string path;
    file_format format = file_format::pcap;
    std::vector<interface_info> interfaces;
    std::uint64_t file_bytes = 0;
    std::uint64_t packets = 0;
    std::uint64_t data_bytes = 0;          ///< sum of lengths on the wire, as capinfos counts
    std::optional<timestamp> first;        ///< earliest timestamp
    std::optional<timestamp> last;         ///< latest timestamp
    bool strict_time_order = true;         ///< no timestamp below the one before it
    std::uint64_t odd_timestamps = 0;      ///< sub-second fields out of range, carried into the seconds
    std::string error;                     ///< why reading stopped early; empty when it did not
};

/// Decimal digits of timestamp precision: the finest of the interfaces
/// (6 when there are none).
inline int timestamp_digits(const capture_summary& s) {
    int digits = 0;
    for (const auto& i : s.interfaces) digits = std::max(digits, i.ts_digits);
    return digits ? digits : 6;
}

/// The length of a packet's traffic: its length on the wire, less the
/// SunATM pseudo-header, which is the capturing card's metadata and which
/// capinfos (like all of Wireshark) leaves out of the data size too.
inline std::uint32_t wire_length(const packet_view& p, std::uint32_t linktype) {
    constexpr std::uint32_t linktype_sunatm = 123, sunatm_header = 4;
    if (linktype == linktype_sunatm) return p.origlen > sunatm_header ? p.origlen - sunatm_header : 0;
    return p.origlen;
}

/// Reads path to its end and sums it up. Throws error when the file cannot
/// be opened or is not a capture at all; a problem further in (a truncated
/// last packet, a broken block) ends the reading and is kept in .error
/// with every figure up to it.
inline capture_summary summarize_capture(const std::string& path) {
    capture_reader reader(path);
    capture_summary s;
    s.path = path;
    s.format = reader.format();
    s.file_bytes = reader.file_size();
    packet_view p{};
    timestamp previous{};
    bool have_previous = false;
    try {
        while (reader.next(p)) {
            ++s.packets;
            s.data_bytes += wire_length(p, reader.interfaces()[p.interface].linktype);
            if (!p.has_timestamp) continue;
            s.odd_timestamps += p.timestamp_carried;
            if (have_previous && p.ts < previous) s.strict_time_order = false;
            previous = p.ts;
            have_previous = true;
            if (!s.first || p.ts < *s.first) s.first = p.ts;
            if (!s.last || *s.last < p.ts) s.last = p.ts;
        }
    } catch (const error& e) {
        s.error = e.what();
    }
    s.interfaces = reader.interfaces();
    return s;
}

namespace detail {

inline std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

// last - first in seconds, exactly, with `digits` decimals.
inline std::string duration_text(const timestamp& first, const timestamp& last, int digits) {
    std::int64_t sec = last.sec - first.sec;
    std::int64_t nsec = static_cast<std::int64_t>(last.nsec) - static_cast<std::int64_t>(first.nsec);
    if (nsec < 0) {
        nsec += 1000000000;
        --sec;
    }
    char frac[16];
    std::snprintf(frac, sizeof frac, "%09lld", static_cast<long long>(nsec));
    std::string out = std::to_string(sec);
    if (digits > 0) out += "." + std::string(frac, static_cast<std::size_t>(std::min(digits, 9)));
    return out;
}

inline double seconds_between(const timestamp& first, const timestamp& last) {
    return static_cast<double>(last.sec - first.sec) +
           (static_cast<double>(last.nsec) - static_cast<double>(first.nsec)) / 1e9;
}

// The distinct values of f over the interfaces, comma-separated, in order.
template <typename F>
std::string distinct_join(const std::vector<interface_info>& interfaces, F f) {
    std::vector<std::string> seen;
    for (const auto& i : interfaces) {
        std::string v = f(i);
        if (std::find(seen.begin(), seen.end(), v) == seen.end()) seen.push_back(v);
    }
    std::string out;
    for (const auto& v : seen) out += (out.empty() ? "" : ",") + v;
    return out;
}

}  // namespace detail

/// The record of a summary: base (the incoming record, passed on) plus
/// format, linktype, packets, file_bytes, data_bytes, snaplen, precision,
/// first, last, duration, bytes_per_s, bits_per_s, avg_packet,
/// strict_order, interfaces, and error when reading stopped early.
inline record summary_record(const capture_summary& s, record base) {
    base.set("file", base.has("file") ? base.get("file") : s.path);
    base.set("format", std::string(format_name(s.format)));
    base.set("linktype", detail::distinct_join(s.interfaces, [](const interface_info& i) {
                 return std::string(linktype_name(i.linktype));
             }));
    base.set("packets", std::to_string(s.packets));
    base.set("file_bytes", std::to_string(s.file_bytes));
    base.set("data_bytes", std::to_string(s.data_bytes));
    base.set("snaplen", detail::distinct_join(s.interfaces, [](const interface_info& i) {
                 return std::to_string(i.snaplen);
             }));
    int digits = timestamp_digits(s);
    base.set("precision", digits == 9 ? "ns" : digits == 6 ? "us" : "1e-" + std::to_string(digits));
    if (s.first && s.last) {
        base.set("first", format_iso8601(s.first->sec, s.first->nsec, digits));
        base.set("last", format_iso8601(s.last->sec, s.last->nsec, digits));
        base.set("duration", detail::duration_text(*s.first, *s.last, digits));
        double seconds = detail::seconds_between(*s.first, *s.last);
        if (seconds > 0) {
            base.set("bytes_per_s", detail::fixed(static_cast<double>(s.data_bytes) / seconds, 2));
            base.set("bits_per_s", detail::fixed(8.0 * static_cast<double>(s.data_bytes) / seconds, 2));
        }
    }
    if (s.packets > 0)
        base.set("avg_packet", detail::fixed(static_cast<double>(s.data_bytes) / static_cast<double>(s.packets), 2));
    base.set("strict_order", s.strict_time_order ? "yes" : "no");
    if (s.odd_timestamps) base.set("odd_timestamps", std::to_string(s.odd_timestamps));
    if (s.format == file_format::pcapng) base.set("interfaces", std::to_string(s.interfaces.size()));
    if (!s.error.empty()) base.set("error", s.error);
    return base;
}

namespace detail {
inline std::string with_thousands(std::uint64_t v) {
    std::string digits = std::to_string(v), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}
}  // namespace detail

namespace detail {
// A rate for people: "3.3 MiB/s (27.5 Mbit/s)".
inline std::string rate_text(double bytes_per_second) {
    static const char* byte_units[] = {"bytes/s", "KiB/s", "MiB/s", "GiB/s"};
    static const char* bit_units[] = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s"};
    double bytes = bytes_per_second, bits = 8 * bytes_per_second;
    int bu = 0, tu = 0;
    while (bytes >= 1024 && bu < 3) bytes /= 1024, ++bu;
    while (bits >= 1000 && tu < 3) bits /= 1000, ++tu;
    return fixed(bytes, bu ? 1 : 0) + " " + byte_units[bu] + " (" + fixed(bits, tu ? 1 : 0) + " " + bit_units[tu] + ")";
}
}  // namespace detail

/// The block a person reads on a terminal, in the spirit of the original
/// `capture -sv` and of capinfos. context is the incoming record: what
/// earlier tools found (a digest, the analyst...) is shown after the figures.
inline void write_summary_human(std::ostream& out, const capture_summary& s, const record& context = {}) {
    auto line = [&](const char* label, const std::string& value) {
        char head[32];
        std::snprintf(head, sizeof head, "  %-21s", label);
        out << head << value << '\n';
    };
    int digits = timestamp_digits(s);
    out << "Capture file info:\n";
    line("File name:", s.path);
    line("File type:", std::string(format_name(s.format)) + " (" + std::string(format_description(s.format)) + ")");
    for (std::size_t k = 0; k < s.interfaces.size(); ++k) {
        const auto& i = s.interfaces[k];
        std::string text = std::string(linktype_name(i.linktype)) + " (" +
                           std::string(linktype_description(i.linktype)) + "), snaplen " + std::to_string(i.snaplen);
        if (s.format == file_format::pcapng) {
            text = "#" + std::to_string(k) + (i.name.empty() ? "" : " " + i.name) + ": " + text;
            line(k == 0 ? "Interfaces:" : "", text);
        } else {
            line("Link type:", text);
        }
    }
    line("Packets:", detail::with_thousands(s.packets));
    line("File size:", format_bytes_human(s.file_bytes) + " (" + detail::with_thousands(s.file_bytes) + " bytes)");
    line("Data size:", format_bytes_human(s.data_bytes) + " (" + detail::with_thousands(s.data_bytes) + " bytes)");
    line("Time precision:", digits == 9 ? "nanoseconds" : digits == 6 ? "microseconds" : std::to_string(digits) + " digits");
    if (s.first && s.last) {
        double seconds = detail::seconds_between(*s.first, *s.last);
        line("Duration:", format_duration(seconds) + " (" + detail::duration_text(*s.first, *s.last, digits) + " s)");
        line("First packet:", format_human_time(s.first->sec) + " (" +
                                  format_iso8601(s.first->sec, s.first->nsec, digits) + ")");
        line("Last packet:", format_human_time(s.last->sec) + " (" +
                                 format_iso8601(s.last->sec, s.last->nsec, digits) + ")");
        if (seconds > 0) {
            line("Data rate:", detail::rate_text(static_cast<double>(s.data_bytes) / seconds));
        }
    }
    if (s.packets > 0)
        line("Average packet:",
             detail::fixed(static_cast<double>(s.data_bytes) / static_cast<double>(s.packets), 2) + " bytes");
    line("Strict time order:", s.strict_time_order ? "yes" : "no");
    if (s.odd_timestamps)
        line("Odd timestamps:", detail::with_thousands(s.odd_timestamps) +
                                    " with the sub-second field out of range (carried into the seconds)");
    if (!s.error.empty()) line("Error:", s.error);
    // What earlier tools found, less what this block has just said afresh.
    static const char* const own_keys[] = {"file",  "format", "linktype",    "packets",     "file_bytes", "data_bytes",
                                           "snaplen", "precision", "first",  "last",        "duration",   "bytes_per_s",
                                           "bits_per_s", "avg_packet", "strict_order", "interfaces", "error"};
    for (const auto& field : context.fields()) {
        // A named pair, not a structured binding: C++17 lambdas cannot capture those.
        const std::string& key = field.first;
        if (std::none_of(std::begin(own_keys), std::end(own_keys), [&key](const char* k) { return key == k; }))
            line((key + ":").c_str(), field.second);
    }
}

}  // namespace capture

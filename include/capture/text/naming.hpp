// Capture file names that analysts read at a glance (DESIGN.md "Naming"):
//
//   <analyst>_<description>_<Tue.Feb17.2009-20.20.22.UTC>_<epoch>_.pcap
//
// with "_.past.pcap" for pulls and "_.merged.pcap" for merges. Every run of
// characters that is not an ASCII letter or digit becomes one '.', so a
// name is safe in any shell: no '/', no leading '-' or '.', nothing a
// description can smuggle in, and a bounded length.
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/time_format.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace capture {

/// What a capture file holds, which sets its suffix.
enum class capture_kind { live, pull, merge };

/// The longest analyst and description parts of a name, in bytes.
inline constexpr std::size_t max_analyst_part = 32;
inline constexpr std::size_t max_description_part = 96;

/// text with each run of non-alphanumerics turned into one '.', no '.' at
/// either end, cut to at most max bytes; fallback when nothing is left.
inline std::string name_part(std::string_view text, std::size_t max, std::string_view fallback) {
    std::string out;
    bool pending_dot = false;
    for (unsigned char c : text) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum) {
            pending_dot = true;
            continue;
        }
        if (pending_dot && !out.empty()) out += '.';
        pending_dot = false;
        out += static_cast<char>(c);
        if (out.size() >= max) break;
    }
    while (out.size() > max || (!out.empty() && out.back() == '.')) out.pop_back();
    return out.empty() ? std::string(fallback) : out;
}

/// The suffix of a kind: "_.pcap", "_.past.pcap", "_.merged.pcap";
/// ".pcapng" in place of ".pcap" when pcapng.
inline std::string name_suffix(capture_kind kind, bool pcapng = false) {
    std::string ext = pcapng ? "pcapng" : "pcap";
    switch (kind) {
        case capture_kind::pull: return "_.past." + ext;
        case capture_kind::merge: return "_.merged." + ext;
        case capture_kind::live: break;
    }
    return "_." + ext;
}

/// How many names a tool tries for one capture before it gives up: the
/// first, then the same with " 2", " 3" ... after the description
/// (numbered_description), when another capture took it in the same second.
inline constexpr int max_name_attempts = 1000;

/// The description for the nth name tried (from 1): the description
/// itself, then "DESCRIPTION n".
inline std::string numbered_description(std::string_view description, int n) {
    std::string out(description);
    if (n > 1) out += " " + std::to_string(n);
    return out;
}

/// The file name (no directory) of a capture started at `started`
/// (seconds since the epoch).
inline std::string capture_file_name(std::string_view analyst, std::string_view description, std::int64_t started,
                                     capture_kind kind = capture_kind::live, bool pcapng = false) {
    return name_part(analyst, max_analyst_part, "unknown") + "_" +
           name_part(description, max_description_part, "capture") + "_" + format_name_stamp(started) + "_" +
           std::to_string(started) + name_suffix(kind, pcapng);
}

}  // namespace capture

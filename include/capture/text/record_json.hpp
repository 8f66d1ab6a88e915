// Records as JSON Lines, for --json.
//
// Every value is a JSON string, exactly the text the record line holds
// unescaped, so the two forms carry the same information and a consumer
// never has to guess whether "0012" was a number. Bytes that are not valid
// UTF-8 (a description typed in Latin-1, say) become U+FFFD: JSON has no
// way to carry them, and the record line still has the originals.
#pragma once

#include "capture/text/record.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace capture {

namespace detail {

/// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = byte(i);
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
    else return 0;
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
    return n;
}

}  // namespace detail

/// s as a quoted JSON string.
inline std::string json_quote(std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
            ++i;
        } else if (c < 0x20) {
            switch (c) {
                case '\n': out += "\\n"; break;
                case '\t': out += "\\t"; break;
                case '\r': out += "\\r"; break;
                case '\b': out += "\\b"; break;
                case '\f': out += "\\f"; break;
                default:
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 0xF];
            }
            ++i;
        } else if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
        } else if (std::size_t n = detail::utf8_sequence_length(s, i)) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += "\xEF\xBF\xBD";  // U+FFFD
            ++i;
        }
    }
    out += '"';
    return out;
}

/// The record as one JSON object on one line, keys in record order.
inline std::string format_json(const record& r) {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, value] : r.fields()) {
        if (!first) out += ',';
        first = false;
        out += json_quote(key);
        out += ':';
        out += json_quote(value);
    }
    out += '}';
    return out;
}

}  // namespace capture

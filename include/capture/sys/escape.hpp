// Bytes that someone else chose (a file name, a description, a line of
// input), written where they must not act: as \xNN. Shared by the audit
// line (audit.hpp) and what goes to a terminal (output.hpp), which agree
// on what a C1 control character looks like in UTF-8.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace capture {

/// Appends "\xNN" (lower-case hex) for the byte c. Throws only std::bad_alloc.
inline void append_hex_escape(std::string& out, unsigned char c) {
    static const char hex[] = "0123456789abcdef";
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 15];
}

/// True when text[i] starts a C1 control character (U+0080..U+009F) in
/// UTF-8: 0xC2, then 0x80..0x9F. U+0085 ends a line in some viewers and
/// U+009B starts a terminal escape sequence. Throws nothing.
inline bool c1_control_at(std::string_view text, std::size_t i) noexcept {
    return i + 1 < text.size() && static_cast<unsigned char>(text[i]) == 0xc2 &&
           static_cast<unsigned char>(text[i + 1]) >= 0x80 && static_cast<unsigned char>(text[i + 1]) < 0xa0;
}

}  // namespace capture

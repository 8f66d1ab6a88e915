// Checksum lines as sha256sum writes and reads them, so that the coreutils
// tools and cap-hash check each other: "HEX  NAME" (or "HEX *NAME"), with a
// leading backslash when NAME holds a backslash or a newline, written "\\"
// and "\n"; BSD-style lines "TAG (NAME) = HEX" are read too.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/ascii.hpp"

#include <cctype>
#include <optional>
#include <string>
#include <string_view>

namespace capture {


/// True when name must be escaped in a checksum line (it holds '\' or LF).
inline bool checksum_name_needs_escape(std::string_view name) {
    return name.find_first_of("\\\n") != std::string_view::npos;
}

/// name with '\' and LF written "\\" and "\n", as sha256sum writes them.
inline std::string checksum_name_escape(std::string_view name) {
    std::string out;
    out.reserve(name.size());
    for (char c : name) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

/// The inverse of checksum_name_escape; nothing for an unknown escape.
inline std::optional<std::string> checksum_name_unescape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            out += text[i];
            continue;
        }
        if (i + 1 == text.size()) return std::nullopt;
        char next = text[++i];
        if (next == '\\') out += '\\';
        else if (next == 'n') out += '\n';
        else return std::nullopt;
    }
    return out;
}

/// One line as sha256sum writes it, without the newline: "HEX  NAME", or
/// "\HEX  ESCAPED-NAME" when the name needs escaping.
inline std::string checksum_line(std::string_view hex, std::string_view name) {
    if (checksum_name_needs_escape(name))
        return "\\" + std::string(hex) + "  " + checksum_name_escape(name);
    return std::string(hex) + "  " + std::string(name);
}

/// "NAME: STATUS" as sha256sum -c writes it (escaped the same way).
inline std::string check_result_line(std::string_view name, std::string_view status) {
    if (checksum_name_needs_escape(name)) return "\\" + checksum_name_escape(name) + ": " + std::string(status);
    return std::string(name) + ": " + std::string(status);
}

/// One entry of a checksum file.
struct checksum_entry {
    std::string tag;   ///< the BSD tag ("SHA256"); empty for sha256sum's format
    std::string hex;   ///< the digest as written
    std::string name;  ///< the file name, unescaped
};

/// Parses "HEX  NAME", "HEX *NAME" (binary marker) or "TAG (NAME) = HEX",
/// each optionally escaped with a leading backslash. Nothing when the
/// line is neither (a digest is at least 32 hex digits).
inline std::optional<checksum_entry> parse_checksum_line(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    bool escaped = !line.empty() && line.front() == '\\';
    if (escaped) line.remove_prefix(1);
    auto finish = [escaped](checksum_entry entry) -> std::optional<checksum_entry> {
        if (entry.name.empty()) return std::nullopt;
        if (escaped) {
            auto name = checksum_name_unescape(entry.name);
            if (!name) return std::nullopt;
            entry.name = std::move(*name);
        }
        return entry;
    };

    // sha256sum: HEX, a space, then a space (text) or '*' (binary), NAME.
    std::size_t hex_end = 0;
    while (hex_end < line.size() && std::isxdigit(static_cast<unsigned char>(line[hex_end]))) ++hex_end;
    if (hex_end >= 32 && hex_end % 2 == 0 && line.size() > hex_end + 2 && line[hex_end] == ' ' &&
        (line[hex_end + 1] == ' ' || line[hex_end + 1] == '*'))
        return finish({"", std::string(line.substr(0, hex_end)), std::string(line.substr(hex_end + 2))});

    // BSD (and OpenSSL's "TAG(NAME)= HEX"): the hex is after the last '='.
    auto open = line.find('(');
    auto eq = line.rfind('=');
    if (open == std::string_view::npos || open == 0 || eq == std::string_view::npos || eq < open) return std::nullopt;
    std::string_view tag = line.substr(0, open);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    for (char c : tag)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return std::nullopt;
    std::string_view hex = line.substr(eq + 1);
    while (!hex.empty() && hex.front() == ' ') hex.remove_prefix(1);
    if (hex.size() < 32 || !is_hex(hex)) return std::nullopt;
    std::string_view before = line.substr(0, eq);
    while (!before.empty() && before.back() == ' ') before.remove_suffix(1);
    if (tag.empty() || before.size() < open + 2 || before.back() != ')') return std::nullopt;
    return finish({std::string(tag), std::string(hex), std::string(before.substr(open + 1, before.size() - open - 2))});
}

}  // namespace capture

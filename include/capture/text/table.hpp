// A table for a person's terminal, as gh's `pr list` prints one: a header
// line, then one line per row, every column but the last padded to its
// widest cell, two spaces between columns.
#pragma once

#include "capture/text/output.hpp"

#include <algorithm>
#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace capture {

/// The columns text takes on a terminal: its UTF-8 characters (continuation
/// bytes take none), a good enough measure for names and descriptions.
/// Throws nothing.
inline std::size_t display_width(const std::string& text) noexcept {
    std::size_t n = 0;
    for (unsigned char c : text)
        if ((c & 0xC0) != 0x80) ++n;
    return n;
}

/// Writes header and rows aligned. Cells are made terminal-safe (control
/// characters as \xNN, tabs as spaces) before they are measured, so what
/// another user wrote can neither break the alignment with a tab nor move
/// the cursor. A row with fewer cells than the header has empty ones.
/// Writes nothing when rows is empty. With columns (a terminal's width),
/// the last column is cut, ending in "...", so that no line wraps (down to
/// 12 characters of it). Throws only what out throws and std::bad_alloc.
inline void write_table(std::ostream& out, const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows, std::size_t columns = 0) {
    if (rows.empty()) return;
    auto cell = [](const std::string& s) {
        std::string t = terminal_safe(s);
        std::replace(t.begin(), t.end(), '\t', ' ');
        return t;
    };
    std::vector<std::vector<std::string>> lines;
    lines.push_back({});
    for (const auto& h : header) lines.back().push_back(cell(h));
    for (const auto& r : rows) {
        lines.push_back({});
        for (std::size_t i = 0; i < header.size(); ++i) lines.back().push_back(i < r.size() ? cell(r[i]) : "");
    }
    std::vector<std::size_t> width(header.size(), 0);
    for (const auto& l : lines)
        for (std::size_t i = 0; i < l.size(); ++i) width[i] = std::max(width[i], display_width(l[i]));
    std::size_t before_last = 0;
    for (std::size_t i = 0; i + 1 < width.size(); ++i) before_last += width[i] + 2;
    const std::size_t last_room = columns ? std::max<std::size_t>(12, columns > before_last + 1 ? columns - before_last - 1 : 0) : 0;
    for (auto& l : lines) {
        std::string& last = l.back();
        if (last_room && display_width(last) > last_room) {
            std::size_t keep = 0, chars = 0;
            while (keep < last.size() && chars < last_room - 3) {
                ++keep;
                while (keep < last.size() && (static_cast<unsigned char>(last[keep]) & 0xC0) == 0x80) ++keep;
                ++chars;
            }
            last = last.substr(0, keep) + "...";
        }
    }
    for (const auto& l : lines) {
        std::string text;
        for (std::size_t i = 0; i < l.size(); ++i) {
            text += l[i];
            if (i + 1 < l.size()) text += std::string(width[i] - display_width(l[i]) + 2, ' ');
        }
        while (!text.empty() && text.back() == ' ') text.pop_back();
        out << text << '\n';
    }
}

}  // namespace capture

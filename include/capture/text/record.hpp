// The record: one capture per line, the text that flows through the pipes.
//
// Format version 1 (man/cap-record.5): fields "key=value" separated by one
// TAB; in values, backslash, TAB, LF and CR are written \\ \t \n \r and
// nothing else is escaped, so grep and cut keep working. Keys are
// [a-z0-9_]+. The common keys come first in a fixed order; every other key
// keeps the order it arrived in, so a tool passes on what it does not know.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/error.hpp"

#include <algorithm>
#include <array>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace capture {

/// The version of the record format this library reads and writes.
inline constexpr int record_format_version = 1;

/// The keys that come first, in this order, when present.
inline constexpr std::array<std::string_view, 5> common_keys{"id", "kind", "state", "analyst", "file"};

/// True when key is a non-empty run of [a-z0-9_].
inline bool is_valid_key(std::string_view key) {
    if (key.empty()) return false;
    return std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

/// A value written for the record line: \\ \t \n \r escaped, nothing else.
inline std::string escape_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '\t': out += "\\t"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            default: out += c;
        }
    }
    return out;
}

/// The inverse of escape_value. An unknown escape or a lone trailing
/// backslash is kept as written, so a hand-typed line is never refused for it.
inline std::string unescape_value(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '\\' || i + 1 == text.size()) {
            out += c;
            continue;
        }
        switch (text[i + 1]) {
            case '\\': out += '\\'; ++i; break;
            case 't': out += '\t'; ++i; break;
            case 'n': out += '\n'; ++i; break;
            case 'r': out += '\r'; ++i; break;
            default: out += c;
        }
    }
    return out;
}

namespace detail {
inline std::size_t common_rank(std::string_view key) {
    auto it = std::find(common_keys.begin(), common_keys.end(), key);
    return static_cast<std::size_t>(it - common_keys.begin());  // size() when not common
}
}  // namespace detail

/// One capture (or capture file): an ordered list of key=value fields.
class record {
public:
    using field = std::pair<std::string, std::string>;

    record() = default;
    record(std::initializer_list<field> fields) {
        for (const auto& f : fields) set(f.first, f.second);
    }

    /// The value of key, or nullptr when absent.
    const std::string* find(std::string_view key) const {
        for (const auto& f : fields_)
            if (f.first == key) return &f.second;
        return nullptr;
    }

    /// The value of key, or fallback when absent.
    std::string get(std::string_view key, std::string_view fallback = {}) const {
        const std::string* v = find(key);
        return v ? *v : std::string(fallback);
    }

    /// True when key is present (even with an empty value).
    bool has(std::string_view key) const { return find(key) != nullptr; }

    /// Replaces key's value in place, or adds it: a common key at its fixed
    /// place, any other key at the end. Throws error for an invalid key.
    void set(std::string_view key, std::string value) {
        if (!is_valid_key(key)) throw error("invalid record key '" + std::string(key) + "'");
        for (auto& f : fields_) {
            if (f.first == key) {
                f.second = std::move(value);
                return;
            }
        }
        std::size_t rank = detail::common_rank(key);
        auto pos = fields_.end();
        if (rank < common_keys.size()) {
            pos = std::find_if(fields_.begin(), fields_.end(),
                               [rank](const field& f) { return detail::common_rank(f.first) > rank; });
        }
        fields_.insert(pos, field(std::string(key), std::move(value)));
    }

    /// Removes key if present.
    void erase(std::string_view key) {
        fields_.erase(std::remove_if(fields_.begin(), fields_.end(), [key](const field& f) { return f.first == key; }),
                      fields_.end());
    }

    /// The fields in order.
    const std::vector<field>& fields() const { return fields_; }
    bool empty() const { return fields_.empty(); }

    /// Appends a field as read, keeping the order it came in (used by the
    /// parser: a record passed through is written back unchanged).
    void append_as_read(std::string key, std::string value) {
        for (auto& f : fields_) {
            if (f.first == key) {
                f.second = std::move(value);  // a repeated key: the last one wins
                return;
            }
        }
        fields_.emplace_back(std::move(key), std::move(value));
    }

    friend bool operator==(const record& a, const record& b) { return a.fields_ == b.fields_; }
    friend bool operator!=(const record& a, const record& b) { return !(a == b); }

private:
    std::vector<field> fields_;
};

/// The record as one line of text, without the trailing newline.
inline std::string format_record(const record& r) {
    std::string line;
    for (const auto& [key, value] : r.fields()) {
        if (!line.empty()) line += '\t';
        line += key;
        line += '=';
        line += escape_value(value);
    }
    return line;
}

/// A line that is not a valid record, with where it came from.
class record_error : public error {
public:
    using error::error;
};

/// The longest line a record reader keeps, in bytes: far beyond any real
/// record (a 100 kB description fits ten times), and a bound on what a
/// stream without newlines (a capture piped in by mistake, /dev/zero) can
/// make us allocate.
inline constexpr std::size_t max_record_line = std::size_t{1} << 20;

/// Reads one line from in, like std::getline, but keeps at most max bytes
/// of it; the rest of a longer line is read and dropped, and too_long says
/// so. Returns false at the end of the stream when no byte was read.
inline bool read_bounded_line(std::istream& in, std::string& line, bool& too_long,
                              std::size_t max = max_record_line) {
    line.clear();
    too_long = false;
    std::streambuf* buf = in.rdbuf();
    bool any = false;
    for (;;) {
        int c = buf->sbumpc();
        if (c == std::char_traits<char>::eof()) {
            in.setstate(std::ios::eofbit);
            return any;
        }
        any = true;
        if (c == '\n') return true;
        if (line.size() < max) line += static_cast<char>(c);
        else too_long = true;
    }
}

/// Parses one line (without its newline; a trailing CR is dropped).
/// Returns nothing for a blank line or a '#' comment. A line with no TAB
/// whose text before any '=' is not a key is a bare path: {file=LINE}.
/// Throws record_error for a field that is not key=value with a valid key,
/// and for a NUL byte anywhere: that is binary data, never a record or a
/// path (no path holds one), so it is never taken for the name of a capture.
inline std::optional<record> parse_record_line(std::string_view line) {
    if (line.find('\0') != std::string_view::npos)
        throw record_error("binary data (a NUL byte), not a record");
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') return std::nullopt;

    auto eq = line.find('=');
    bool has_tab = line.find('\t') != std::string_view::npos;
    if (!has_tab && (eq == std::string_view::npos || !is_valid_key(line.substr(0, eq)))) {
        record r;
        r.set("file", std::string(line));
        return r;
    }

    record r;
    std::size_t start = 0;
    while (start <= line.size()) {
        auto end = line.find('\t', start);
        if (end == std::string_view::npos) end = line.size();
        std::string_view part = line.substr(start, end - start);
        auto peq = part.find('=');
        if (peq == std::string_view::npos)
            throw record_error("field '" + std::string(part) + "' is not key=value");
        std::string_view key = part.substr(0, peq);
        if (!is_valid_key(key)) throw record_error("invalid key '" + std::string(key) + "'");
        r.append_as_read(std::string(key), unescape_value(part.substr(peq + 1)));
        start = end + 1;
    }
    return r;
}

/// Reads records from a stream, line by line, with the line number and the
/// stream's name for messages.
class record_reader {
public:
    /// name is what messages call the stream ("-" or "standard input", a path).
    record_reader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

    /// The next record, skipping blanks and comments. Returns false at the
    /// end. A malformed line (or one longer than max_record_line) throws
    /// record_error("NAME:LINE: why"); reading may continue after it. A
    /// stream whose first line is binary data (a capture piped in instead
    /// of named) throws once and then ends: it holds no records at all.
    bool next(record& out) {
        std::string line;
        bool too_long = false;
        while (!binary_ && read_bounded_line(in_, line, too_long)) {
            ++line_number_;
            auto where = [&] { return name_ + ":" + std::to_string(line_number_) + ": "; };
            if (line_number_ == 1 && line.find('\0') != std::string::npos) {
                binary_ = true;
                throw record_error(where() + "binary data, not records (a capture file is named as an argument, "
                                           "not piped in); none of it is read");
            }
            if (too_long)
                throw record_error(where() + "a line longer than " + std::to_string(max_record_line >> 20) +
                                   " MiB, skipped");
            std::optional<record> r;
            try {
                r = parse_record_line(line);
            } catch (const record_error& e) {
                throw record_error(where() + e.what());
            }
            if (r) {
                out = std::move(*r);
                return true;
            }
        }
        return false;
    }

    /// The number of the line last read (1-based).
    std::size_t line_number() const { return line_number_; }

private:
    std::istream& in_;
    std::string name_;
    std::size_t line_number_ = 0;
    bool binary_ = false;  // the first line was binary: the stream is not read further
};

}  // namespace capture

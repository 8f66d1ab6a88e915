// How a tool writes what it found: for a person on a terminal, as records
// in a pipe, or as JSON Lines (DESIGN.md "The record"; gh's behaviour).
#pragma once

#include "capture/sys/escape.hpp"
#include "capture/text/record.hpp"
#include "capture/text/record_json.hpp"

#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

namespace capture {

/// The three forms of output.
enum class output_mode { human, records, json };

/// The form to use: --json wins, then --records or --human; otherwise
/// human when stdout is a terminal and records when it is not.
inline output_mode choose_output_mode(bool json, bool records, bool human, bool stdout_is_terminal) {
    if (json) return output_mode::json;
    if (records) return output_mode::records;
    if (human) return output_mode::human;
    return stdout_is_terminal ? output_mode::human : output_mode::records;
}

namespace detail {

// A control character for a terminal: C0 but TAB (and newline when kept), DEL.
inline bool is_terminal_control(unsigned char c, bool keep_newline) {
    return (c < 0x20 && c != '\t' && !(keep_newline && c == '\n')) || c == 0x7f;
}

}  // namespace detail

/// text as it may go to a person's terminal: every control character (C0
/// but TAB, DEL, and the C1 controls U+0080..U+009F in their UTF-8 form)
/// written \xNN, so what someone else wrote (a file name, an analyst, a
/// line of a file) can neither move the cursor, retitle the window, nor
/// forge a line of output. Newlines are escaped unless keep_newline.
/// Throws only std::bad_alloc.
inline std::string terminal_safe(std::string_view text, bool keep_newline = false) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c1_control_at(text, i)) {
            append_hex_escape(out, c);
            append_hex_escape(out, static_cast<unsigned char>(text[++i]));
        } else if (detail::is_terminal_control(c, keep_newline)) {
            append_hex_escape(out, c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

/// A stream buffer that writes through to another with terminal_safe()
/// applied (newlines kept): put in front of standard output when a tool
/// writes for a person, so every field of every record shown is safe
/// without each writer having to think of it.
class terminal_safe_buf : public std::streambuf {
public:
    /// to is where the text goes; it must outlive this buffer.
    explicit terminal_safe_buf(std::streambuf* to) : to_(to) {}
    terminal_safe_buf(const terminal_safe_buf&) = delete;
    terminal_safe_buf& operator=(const terminal_safe_buf&) = delete;
    ~terminal_safe_buf() override { flush_pending(); }

protected:
    int_type overflow(int_type ch) override {
        if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
        const auto c = static_cast<unsigned char>(traits_type::to_char_type(ch));
        std::string out;
        if (pending_c2_) {
            pending_c2_ = false;
            if (c >= 0x80 && c < 0xa0) {  // a C1 control in UTF-8
                append_hex_escape(out, 0xc2);
                append_hex_escape(out, c);
                return put(out) ? ch : traits_type::eof();
            }
            out += '\xc2';
        }
        if (c == 0xc2) {
            pending_c2_ = true;
        } else if (detail::is_terminal_control(c, true)) {
            append_hex_escape(out, c);
        } else {
            out += static_cast<char>(c);
        }
        return put(out) ? ch : traits_type::eof();
    }

    std::streamsize xsputn(const char* s, std::streamsize n) override {
        for (std::streamsize i = 0; i < n; ++i)
            if (traits_type::eq_int_type(overflow(traits_type::to_int_type(s[i])), traits_type::eof())) return i;
        return n;
    }

    int sync() override { return flush_pending() ? to_->pubsync() : -1; }

private:
    bool put(const std::string& s) {
        return s.empty() || to_->sputn(s.data(), static_cast<std::streamsize>(s.size())) ==
                                static_cast<std::streamsize>(s.size());
    }
    bool flush_pending() {
        if (!pending_c2_) return true;
        pending_c2_ = false;
        return put(std::string(1, '\xc2'));
    }

    std::streambuf* to_;
    bool pending_c2_ = false;  // a 0xc2 byte held back: it may start a C1 control
};

/// Writes r as one line in the machine form of mode (records unless json).
inline void write_record(std::ostream& out, const record& r, output_mode mode) {
    out << (mode == output_mode::json ? format_json(r) : format_record(r)) << '\n';
}

}  // namespace capture

// cap-hash: digests of capture files, sidecar files, and checking them.
//
// Files are hashed in parallel, one file per task on a small pool of
// threads, so one large capture never holds up the small ones behind it;
// results still come out in input order, each as soon as it and everything
// before it is done, so `find | cap-hash | cap-info` streams.
//
// The formats are sha256sum's, so the coreutils tools and ours check each
// other: "HEX  NAME" (or "HEX *NAME"), with a leading backslash when NAME
// holds a backslash or a newline, written "\\" and "\n"; BSD-style lines
// "TAG (NAME) = HEX" are read too.
#pragma once

#include "capture/atomic_file.hpp"
#include "capture/cli.hpp"
#include "capture/digest.hpp"
#include "capture/error.hpp"
#include "capture/fd.hpp"
#include "capture/open_writers.hpp"
#include "capture/output.hpp"
#include "capture/parallel.hpp"
#include "capture/record.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace capture {


// ---------------------------------------------------------------------------
// sha256sum's line format

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

// ---------------------------------------------------------------------------
// Sidecar files

namespace detail {

}  // namespace detail

/// Where the sidecar of file goes: "FILE.ALGO" ("x.pcap.sha256").
inline std::string sidecar_path(const std::string& file, const digest_algorithm& algo) {
    return file + "." + algo.name();
}

/// Writes file's sidecar atomically: one sha256sum line naming file's
/// basename, so `cd DIR && sha256sum -c FILE.sha256` accepts it.
/// Returns the sidecar's path. Throws error("SIDECAR: why").
inline std::string write_sidecar(const std::string& file, const digest_algorithm& algo, const std::string& hex) {
    std::string path = sidecar_path(file, algo);
    write_file_atomically(path, checksum_line(hex, file_name_of(file)) + "\n");
    return path;
}


// ---------------------------------------------------------------------------
// The tool

/// cap-hash's options, read from the context's variables_map.
struct hash_options {
    std::string algo = "sha256";  ///< --algo, else algo= in the configuration
    bool algo_given = false;      ///< --algo was on the command line
    bool sidecar = false;         ///< --sidecar (or sidecar=true in the configuration)
    bool check = false;           ///< --check
    bool quiet = false;           ///< --quiet: no line for a file that verifies
    bool force = false;           ///< --force: hash files still being written
    unsigned jobs = 1;            ///< --jobs: files hashed at once
};

/// The options in ctx.vm, with the configuration's defaults. Throws
/// usage_error for a bad --jobs or a combination that makes no sense.
inline hash_options hash_options_from(const cli::context& ctx) {
    const auto& vm = ctx.vm;
    hash_options o;
    o.algo = ctx.config.algo.empty() ? "sha256" : ctx.config.algo;
    if (vm.count("algo")) {
        o.algo = vm["algo"].as<std::string>();
        o.algo_given = true;
    }
    o.sidecar = vm.count("sidecar") > 0 || ctx.config.sidecar;
    o.check = vm.count("check") > 0;
    o.quiet = vm.count("quiet") > 0;
    o.force = vm.count("force") > 0;
    o.jobs = cli::jobs(ctx);
    if (o.check && vm.count("sidecar")) throw usage_error("--sidecar and --check cannot be used together");
    if (o.quiet && !o.check) throw usage_error("--quiet only applies to --check");
    if (o.force && o.check) throw usage_error("--force only applies when hashing, not with --check");
    return o;
}

namespace detail {

/// Why a file must not be hashed yet, or nothing: its record says
/// state=running, or a process has it open for writing.
inline std::optional<std::string> still_being_written(const record& r, const open_writers* writers, const struct stat& st,
                                                      const std::string& file) {
    std::optional<file_writer> writer;
    if (writers) writer = writers->find(st.st_dev, st.st_ino);
    if (!writer && r.get("state") == "running") {
        std::string pid = r.get("pid");
        if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos)
            return file + ": still being written (its record says state=running); use --force to hash it anyway";
        std::string command = detail::process_command("/proc", std::stol(pid));
        writer = file_writer{static_cast<pid_t>(std::stol(pid)), command == "?" ? "its record says state=running" : command};
    }
    if (!writer) return std::nullopt;
    return file + ": still being written by " + std::to_string(writer->pid) + " (" + writer->command +
           "); use --force to hash it anyway";
}

inline int run_hash_files(cli::context& ctx, const hash_options& options) {
    const digest_algorithm algo(options.algo);
    const output_mode mode = ctx.output;
    std::optional<open_writers> writers;
    bool failed = false;

    struct item {
        record rec;
        std::string file;
        std::string hex;
        std::string failure;          // the whole message, "FILE: why"
        std::string sidecar;          // the sidecar written
        std::string sidecar_failure;  // "FILE.sha256: why"
    };

    ordered_pool pool(options.jobs);
    bool inputs_ok = cli::for_each_input(ctx, [&](record& r) {
        if (!options.force && !writers) writers = open_writers::scan();
        auto it = std::make_shared<item>();
        it->rec = std::move(r);
        it->file = it->rec.get("file");
        const open_writers* scan = options.force ? nullptr : &*writers;
        // Under sudo a sidecar goes only where the caller could write it.
        const bool sidecar_allowed = !options.sidecar || it->file.empty() ||
                                     cli::caller_may_write(ctx, sidecar_path(it->file, algo));
        if (!sidecar_allowed)
            it->sidecar_failure = sidecar_path(it->file, algo) + ": refused: the caller (" + ctx.caller.caller +
                                  ") could not write there on their own";

        auto work = [it, scan, &algo, &options, sidecar_allowed] {
            if (it->file.empty()) {
                it->failure = "record without a file key: " + format_record(it->rec);
                return;
            }
            try {
                struct stat st {};
                unique_fd fd = open_file_to_hash(it->file, st);
                if (!options.force) {
                    if (auto why = still_being_written(it->rec, scan, st, it->file)) {
                        it->failure = *why;
                        return;
                    }
                }
                thread_local file_hasher hasher;
                it->hex = hasher.hex_digest_of_fd(fd.get(), it->file, algo.md());
            } catch (const std::exception& e) {
                it->failure = e.what();
                return;
            }
            if (options.sidecar && sidecar_allowed) {
                try {
                    it->sidecar = write_sidecar(it->file, algo, it->hex);
                } catch (const std::exception& e) {
                    it->sidecar_failure = e.what();
                }
            }
        };

        auto emit = [it, &ctx, &algo, &failed, mode] {
            if (!it->failure.empty()) {
                failed = true;
                ctx.warn(it->failure);
                ctx.log("hash", "failed", record{{"file", it->file}, {"error", it->failure}});
                return;
            }
            if (mode == output_mode::human) {
                *ctx.out << checksum_line(it->hex, it->file) << '\n';
            } else {
                it->rec.set(algo.key(), it->hex);
                write_record(*ctx.out, it->rec, mode);
            }
            ctx.out->flush();
            record details{{"file", it->file}, {algo.key(), it->hex}};
            if (!it->sidecar_failure.empty()) {
                failed = true;
                ctx.warn(it->sidecar_failure);
                details.set("error", it->sidecar_failure);
                ctx.log("hash", "failed", details);
                return;
            }
            if (!it->sidecar.empty()) {
                details.set("sidecar", it->sidecar);
                if (ctx.verbose) ctx.warn("wrote " + it->sidecar);
            }
            ctx.log("hash", "ok", details);
        };
        pool.submit(std::move(work), std::move(emit));
    });
    pool.finish();
    if (ctx.verbose && writers && writers->uninspected())
        ctx.warn(std::to_string(writers->uninspected()) +
                 " processes could not be inspected for open captures (not permitted)");
    return failed || !inputs_ok ? exit_failure : exit_ok;
}

/// The state of a --check run, shared by the reader (main thread) and the
/// emitters (one at a time).
class checker {
public:
    checker(cli::context& ctx, const hash_options& options)
        : ctx_(ctx), options_(options), pool_(options.jobs) {
        // The named digest must exist: an unknown one is a usage error.
        auto named = std::make_unique<digest_algorithm>(options.algo);
        default_algo_ = named.get();
        algos_.emplace(ascii_lower(options.algo), std::move(named));
        if (options.algo_given) explicit_algo_ = default_algo_;
        records_out_ = ctx.vm.count("records") || ctx.vm.count("json");
    }

    /// Reads a checksum file, sidecar or records from a path ("-": stdin).
    void read_path(const std::string& path, bool top_level) {
        if (path == "-") {
            if (!read_stream(*ctx_.in, "standard input", "", top_level)) {
                ctx_.warn("standard input: no properly formatted checksum lines found");
                reader_failed_ = true;
            }
            return;
        }
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            ctx_.warn(path + ": " + errno_text(EISDIR));
            reader_failed_ = true;
            return;
        }
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            ctx_.warn(path + ": " + errno_text(errno));
            reader_failed_ = true;
            return;
        }
        if (!read_stream(in, path, path, false)) {
            ctx_.warn(path + ": no properly formatted checksum lines found");
            reader_failed_ = true;
        }
    }

    /// Reads the input named by the operands, or stdin.
    int run() {
        if (ctx_.operands.empty()) read_path("-", true);
        for (const auto& operand : ctx_.operands) read_path(operand, operand == "-");
        pool_.finish();
        auto plural = [](std::size_t n, const char* one, const char* many) {
            return std::to_string(n) + " " + (n == 1 ? one : many);
        };
        if (improper_)
            ctx_.warn("WARNING: " + plural(improper_, "line is", "lines are") + " improperly formatted");
        if (missing_)
            ctx_.warn("WARNING: " + plural(missing_, "listed file", "listed files") + " could not be read");
        if (mismatched_)
            ctx_.warn("WARNING: " + plural(mismatched_, "computed checksum", "computed checksums") + " did NOT match");
        return reader_failed_ || improper_ || missing_ || mismatched_ ? exit_failure : exit_ok;
    }

private:
    struct item {
        record rec;            // written with --records/--json
        std::string display;   // NAME in "NAME: OK"
        std::string path;      // the file opened
        const digest_algorithm* algo = nullptr;
        std::string expected;
        std::string actual;
        std::string why;       // set when the file could not be read
    };

    // Digest names met in the input, looked up once; nullptr when unknown.
    const digest_algorithm* lookup(const std::string& name) {
        std::string wanted = ascii_lower(name);
        if (wanted == "blake2b") wanted = "blake2b512";  // b2sum --tag
        if (wanted == "blake2s") wanted = "blake2s256";
        auto it = algos_.find(wanted);
        if (it == algos_.end()) {
            std::unique_ptr<digest_algorithm> found;
            try {
                found = std::make_unique<digest_algorithm>(wanted);
            } catch (const usage_error&) {
            }
            it = algos_.emplace(wanted, std::move(found)).first;
        }
        return it->second.get();
    }

    // The algorithm a checksum file's extension names ("x.pcap.sha256",
    // "hashes.md5"), or nullptr.
    const digest_algorithm* algo_of_extension(const std::string& source) {
        std::string base = file_name_of(source);
        auto dot = base.rfind('.');
        if (dot == std::string::npos || dot == 0 || base.size() - dot > 24) return nullptr;
        std::string ext = base.substr(dot + 1);
        for (char c : ext)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return nullptr;
        return ext.empty() ? nullptr : lookup(ext);
    }

    static bool is_common_key(const std::string& key) {
        return std::find(common_keys.begin(), common_keys.end(), key) != common_keys.end();
    }

    void improper(const std::string& where, const std::string& why) {
        ++improper_;
        if (ctx_.verbose) ctx_.warn(where + ": " + why);
    }

    // Returns false when the stream held lines and none of them was usable.
    bool read_stream(std::istream& in, const std::string& name, const std::string& source, bool top_level) {
        const digest_algorithm* file_algo = source.empty() ? nullptr : algo_of_extension(source);
        std::string line;
        std::size_t number = 0, usable = 0, unusable = 0;
        bool too_long = false;
        while (read_bounded_line(in, line, too_long)) {
            ++number;
            if (!line.empty() && line.back() == '\r') line.pop_back();
            auto first = line.find_first_not_of(" \t");
            if (first == std::string::npos || line[first] == '#') continue;
            std::string where = name + ":" + std::to_string(number);
            bool ok = false;
            if (too_long || line.find('\0') != std::string::npos) {
                // No name holds a NUL byte: "HEX  /etc/passwd<NUL>x" must not check /etc/passwd.
                improper(where, too_long ? "a line longer than 1 MiB" : "binary data (a NUL byte)");
            } else if (auto entry = parse_checksum_line(line)) {
                ok = add_entry(*entry, source, file_algo, where);
            } else {
                try {
                    if (auto r = parse_record_line(line)) ok = add_record(std::move(*r), where, top_level);
                } catch (const record_error& e) {
                    improper(where, e.what());
                }
            }
            if (ok) ++usable;
            else ++unusable;
        }
        if (in.bad()) {
            ctx_.warn(name + ": read error");
            reader_failed_ = true;
        }
        // An empty stdin is no input, not a bad one (`cap-ls -f nobody | cap-hash -c`).
        if (usable == 0 && unusable == 0) return source.empty();
        return usable > 0;
    }

    bool add_entry(const checksum_entry& entry, const std::string& source, const digest_algorithm* file_algo,
                   const std::string& where) {
        const digest_algorithm* algo = explicit_algo_;
        if (!algo && !entry.tag.empty()) algo = lookup(entry.tag);
        if (!algo) algo = file_algo ? file_algo : default_algo_;
        if (!algo) {
            improper(where, "unknown digest '" + entry.tag + "'");
            return false;
        }
        if (entry.hex.size() != 2 * algo->size()) {
            improper(where, "not a " + algo->tag() + " checksum line (" + std::to_string(entry.hex.size()) +
                                " hex digits; see --algo)");
            return false;
        }
        auto it = std::make_shared<item>();
        it->algo = algo;
        it->expected = entry.hex;
        it->display = entry.name;
        // A sidecar (FILE.ALGO naming FILE's basename) is read relative to
        // its own directory, so it can be checked from anywhere; any other
        // manifest relative to the current directory, as sha256sum -c does.
        if (file_algo && entry.name.find('/') == std::string::npos && source.find('/') != std::string::npos) {
            std::string base = file_name_of(source);
            if (base == entry.name + base.substr(base.rfind('.')))
                it->display = directory_of(source) + "/" + entry.name;
        }
        it->path = it->display;
        it->rec.set("file", it->display);
        it->rec.set(algo->key(), entry.hex);
        submit(std::move(it));
        return true;
    }

    bool add_record(record r, const std::string& where, bool top_level) {
        std::string file = r.get("file");
        if (r.fields().size() == 1 && !file.empty()) {
            if (!top_level) {
                improper(where, "neither a checksum line nor a record with a digest");
                return false;
            }
            read_path(file, false);  // a bare path on stdin names a checksum file
            return true;
        }
        // The digest key: --algo's, else the default's, else the first key
        // that names a digest (a record hashed with --algo md5 has md5=).
        const digest_algorithm* algo = nullptr;
        std::string key;
        if (explicit_algo_ || r.has(default_algo_->key())) {
            algo = default_algo_;
            key = algo->key();
            if (!r.has(key)) {
                improper(where, "record without a " + key + "= key");
                return false;
            }
        } else {
            for (const auto& field : r.fields()) {
                if (is_common_key(field.first) || field.first == "verified") continue;
                if ((algo = lookup(field.first))) {
                    key = field.first;
                    break;
                }
            }
        }
        if (!algo) {
            improper(where, "record without a digest key");
            return false;
        }
        std::string expected = r.get(key);
        if (file.empty() || expected.size() != 2 * algo->size() || !is_hex(expected)) {
            improper(where, file.empty() ? "record without a file key" : "not a " + algo->tag() + " digest: " + expected);
            return false;
        }
        auto it = std::make_shared<item>();
        it->algo = algo;
        it->expected = std::move(expected);
        it->display = file;
        it->path = file;
        it->rec = std::move(r);
        submit(std::move(it));
        return true;
    }

    void submit(std::shared_ptr<item> it) {
        auto work = [it] {
            try {
                thread_local file_hasher hasher;
                it->actual = hasher.hex_digest_of_file(it->path, it->algo->md());
            } catch (const std::exception& e) {
                it->why = e.what();
            }
        };
        auto emit = [this, it] { emit_result(*it); };
        pool_.submit(std::move(work), std::move(emit));
    }

    void emit_result(item& it) {
        const char* verdict = !it.why.empty() ? "missing" : hex_equal(it.actual, it.expected) ? "ok" : "failed";
        std::string outcome = verdict;
        if (outcome == "missing") {
            ++missing_;
            ctx_.warn(it.why);
        } else if (outcome == "failed") {
            ++mismatched_;
        }
        bool say = !(options_.quiet && outcome == "ok");
        if (say && records_out_) {
            it.rec.set("verified", outcome);
            write_record(*ctx_.out, it.rec, ctx_.vm.count("json") ? output_mode::json : output_mode::records);
        } else if (say) {
            const char* status = outcome == "ok" ? "OK" : outcome == "failed" ? "FAILED" : "FAILED open or read";
            *ctx_.out << check_result_line(it.display, status) << '\n';
        }
        ctx_.out->flush();
        record details{{"file", it.path}, {it.algo->key(), it.expected}};
        if (outcome == "failed") details.set("computed", it.actual);
        if (outcome == "missing") details.set("error", it.why);
        ctx_.log("check", outcome, details);
    }

    cli::context& ctx_;
    const hash_options& options_;
    std::map<std::string, std::unique_ptr<digest_algorithm>> algos_;
    const digest_algorithm* explicit_algo_ = nullptr;
    const digest_algorithm* default_algo_ = nullptr;
    bool records_out_ = false;
    bool reader_failed_ = false;
    std::size_t improper_ = 0;  // touched by the reader only
    std::size_t missing_ = 0;   // touched by emitters only (one at a time)
    std::size_t mismatched_ = 0;
    ordered_pool pool_;  // last: destroyed (and joined) first
};

}  // namespace detail

/// cap-hash's body: hashes the inputs (operands, or records and bare
/// paths on stdin) or, with --check, verifies them. Per-file failures are
/// said on ctx.err and give exit_failure; the rest is still done. Throws
/// usage_error for bad options or an unknown digest.
inline int run_hash(cli::context& ctx) {
    hash_options options = hash_options_from(ctx);
    if (options.check) {
        detail::checker check(ctx, options);
        return check.run();
    }
    return detail::run_hash_files(ctx, options);
}

}  // namespace capture

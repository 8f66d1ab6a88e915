// cap-hash --check: verifies checksum files (ours or sha256sum's), sidecars
// and records that carry a digest, each file once its line is read, on a
// small pool of threads, results in input order.
#pragma once

#include "capture/engine/manifest.hpp"
#include "capture/engine/cli.hpp"
#include "capture/sys/digest.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"
#include "capture/sys/parallel.hpp"
#include "capture/text/checksum_line.hpp"
#include "capture/text/output.hpp"
#include "capture/text/record.hpp"
#include "capture/tool/hash_options.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>

namespace capture::detail {

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
        if (is_manifest_path(path)) return submit_manifest(path);
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

    // A provenance manifest (engine/manifest.hpp): its output and sources,
    // one "NAME: OK" line each, checked in the pool like any file.
    void submit_manifest(const std::string& path) {
        auto found = std::make_shared<std::vector<manifest_check_item>>();
        auto why = std::make_shared<std::string>();
        auto work = [path, found, why] {
            try {
                *found = check_manifest(path);
            } catch (const std::exception& e) {
                *why = e.what();
            }
        };
        auto emit = [this, path, found, why] {
            if (!why->empty()) {
                ctx_.warn(*why);
                ++missing_;
                ctx_.log("check", "missing", record{{"file", path}, {"error", *why}});
                return;
            }
            std::size_t bad = 0;
            for (const auto& it : *found) {
                if (it.verdict == "FAILED") ++bad;
                if (options_.quiet && it.verdict == "OK") continue;
                if (records_out_) {
                    record r{{"file", it.path}, {"manifest", path}, {"role", it.role},
                             {"verified", it.verdict == "OK" ? "ok" : it.verdict == "gone" ? "gone" : "failed"}};
                    if (!it.why.empty()) r.set("reason", it.why);
                    write_record(*ctx_.out, r, ctx_.vm.count("json") ? output_mode::json : output_mode::records);
                } else {
                    *ctx_.out << check_result_line(it.path, it.verdict == "OK" ? "OK"
                                                            : it.verdict == "gone" ? "gone (not checked: " + it.why + ")"
                                                                                   : "FAILED (" + it.why + ")")
                              << '\n';
                }
            }
            mismatched_ += bad;
            ctx_.out->flush();
            ctx_.log("check", bad ? "failed" : "ok", record{{"file", path}, {"checked", std::to_string(found->size())}});
        };
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

}  // namespace capture::detail

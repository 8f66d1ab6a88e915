// What a pull will read: the files of the archive that a time window
// needs, their link types, snapshot lengths and precision, and the format
// the output takes. Planning reads names and headers, never packets, so
// `cap-pull -n` answers at once.
#pragma once

#include "capture/engine/archive.hpp"
#include "capture/engine/index_query.hpp"
#include "capture/engine/time_window.hpp"
#include "capture/pcap/capture_reader.hpp"
#include "capture/pcap/capture_writer.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"
#include "capture/sys/parallel.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace capture {

/// What to pull.
struct pull_request {
    std::vector<std::string> archives;      ///< archive directories, in order
    time_window window;                     ///< [since, until)
    std::string expression;                 ///< the BPF expression as compiled (after --vlan)
    unsigned jobs = 1;                      ///< files filtered at once
    std::optional<output_format> format;    ///< forced output format; default: pcap for one link type
    bool use_index = true;                  ///< read only the candidate blocks of files with a fresh index
    std::string index_dir;                  ///< where indexes are, when not beside the captures
    std::string index_expression;           ///< the expression the index is asked about (before --vlan)
};

/// A selected file whose header could be read.
struct planned_file {
    archive_file file;                      ///< where it is and what time it covers
    std::vector<interface_info> interfaces; ///< the interfaces that lead it
    bool indexed = false;                   ///< read through its index: only ranges
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  ///< the candidate byte ranges, when indexed
    std::string read_why;                   ///< how it is read, and why ("index: 3 of 4096 blocks", "scan: no index")
};

/// What a pull will read and how it will write.
struct pull_plan {
    archive_scan scan;                      ///< every file of the archive
    std::vector<planned_file> files;        ///< the selected readable files, in archive order
    std::vector<std::string> problems;      ///< "PATH: why": files and directories that cannot be read
    std::vector<std::uint32_t> linktypes;   ///< distinct link types, in order of appearance
    std::uint32_t snaplen = 0;              ///< the largest snapshot length (0 counts as 262144)
    bool nanoseconds = false;               ///< some file has finer than microsecond times
    std::uint64_t bytes = 0;                ///< bytes of the selected files
    output_format format = output_format::pcap;  ///< what the output will be
    index_expression index;                 ///< how the index sees the expression
    std::size_t indexed_files = 0;          ///< files read through their index
    std::uint64_t indexed_bytes = 0;        ///< the bytes of their candidate blocks
    std::vector<std::string> index_notes;   ///< stale, corrupt or missing indexes: warnings, then a scan
    /// Asks the disk for the candidate ranges while the pull reads the
    /// first of them (index_query.hpp); it stops with the plan.
    std::shared_ptr<read_ahead_queue> read_ahead;
};

/// Files whose header and index are read at once (threads: on a cold disk
/// the work is waiting for it).
inline constexpr std::size_t index_lookups_at_once = 16;

/// Asks the index of each file of plan (see index_query.hpp) and marks those
/// it narrows; asked, when given, holds the answers already asked, one per
/// file of plan. Throws only std::bad_alloc.
inline void plan_index_reads(pull_plan& plan, const pull_request& req, std::vector<index_answer>* asked = nullptr) {
    if (!req.use_index) {
        for (auto& f : plan.files) f.read_why = "scan: --no-index";
        return;
    }
    plan.index = analyse_index_expression(req.index_expression);
    if (!plan.index.narrows) {
        for (auto& f : plan.files) f.read_why = "scan: " + plan.index.why;
        return;
    }
    // Each answer is a short chain of small reads (the sidecar's header,
    // then its offsets, keys and lists, the capture's edges): on a cold
    // disk, latency. Several files asked at once keep the disk's queue full,
    // and their candidate blocks are asked for as soon as they are known.
    std::vector<index_answer> answers;
    if (asked) {
        answers = std::move(*asked);
    } else {
        answers.resize(plan.files.size());
        ordered_pool pool(static_cast<unsigned>(std::min<std::size_t>(index_lookups_at_once, plan.files.size())));
        for (std::size_t i = 0; i < plan.files.size(); ++i)
            pool.submit([&, i] { answers[i] = ask_index(plan.files[i].file.path, req.index_dir, plan.index, req.window); },
                        [] {});
        pool.finish();
    }
    std::vector<std::size_t> missing;
    for (std::size_t i = 0; i < plan.files.size(); ++i) {
        planned_file& f = plan.files[i];
        index_answer& a = answers[i];
        switch (a.status) {
            case index_answer::state::used:
                f.indexed = true;
                f.ranges = std::move(a.ranges);
                f.read_why = "index: " + std::to_string(a.candidates) + " of " + std::to_string(a.blocks) + " blocks";
                ++plan.indexed_files;
                plan.indexed_bytes += a.candidate_bytes;
                break;
            case index_answer::state::missing:
                f.read_why = "scan: no index";
                if (!a.why.empty()) f.read_why += " (" + a.why + ")";
                missing.push_back(i);
                break;
            case index_answer::state::stale:
            case index_answer::state::corrupt:
                f.read_why = "scan: " + a.why;
                plan.index_notes.push_back(a.why + "; scanning " + f.file.path);
                break;
        }
    }
    // An archive that is indexed but for a few files: those are news. One
    // that nobody indexed is scanned without a word per file.
    if (plan.indexed_files || !plan.index_notes.empty())
        for (std::size_t i : missing)
            plan.index_notes.push_back(plan.files[i].file.path + ": no index (cap-index); scanning it");
}

/// Finds the archive's files, selects those the window needs and, when
/// for_reading, reads their headers (no packets) for the link types,
/// snapshot length and precision, and asks the disk for the candidate
/// blocks of the files read through their index (a dry run's plan does
/// neither: it reads no packet); a file whose header cannot be read is a
/// problem and is dropped (the newest file of a directory, still empty or
/// partly written by its daemon, is dropped silently). Chooses the output
/// format. Throws usage_error when req.format is pcap and the files hold
/// several link types.
inline pull_plan plan_pull(const pull_request& req, bool for_reading = true) {
    pull_plan plan;
    plan.scan = scan_archives(req.archives);
    plan.problems = plan.scan.problems;
    std::vector<archive_file> selected = select_files(plan.scan, req.window.since_second(), req.window.until_second());
    // Each file's header, then its index, several files at once: on a cold
    // disk each is a short chain of small reads, and the index's answer
    // asks for the file's candidate blocks as soon as it is known.
    struct looked {
        std::vector<interface_info> interfaces;
        std::string failure;
        index_answer answer;
    };
    std::vector<looked> look(selected.size());
    const index_expression narrowing =
        req.use_index ? analyse_index_expression(req.index_expression) : index_expression{};
    if (narrowing.narrows && for_reading) plan.read_ahead = std::make_shared<read_ahead_queue>();
    {
        ordered_pool pool(static_cast<unsigned>(std::min<std::size_t>(index_lookups_at_once, selected.size())));
        for (std::size_t i = 0; i < selected.size(); ++i)
            pool.submit([&, i] {
                const std::string& path = selected[i].path;
                if (for_reading) {
                    try {
                        // The header alone: no read-ahead, which would read
                        // megabytes of each file a pull through its index then
                        // does not need. A pcapng is read further (its
                        // interfaces may come later), so it is read ahead.
                        mapped_file map(path);
                        if (map.size() >= 4) {
                            ::madvise(const_cast<std::uint8_t*>(map.data()), map.size(), MADV_RANDOM);
                            if (detail::load32<false>(map.data()) == detail::pcapng_shb) map.advise_sequential();
                        }
                        capture_reader r(map, path);
                        look[i].interfaces = r.interfaces();
                    } catch (const std::exception& e) {
                        look[i].failure = e.what();
                        return;
                    }
                }
                if (narrowing.narrows)
                    look[i].answer =
                        ask_index(path, req.index_dir, narrowing, req.window, plan.read_ahead.get(), i, for_reading);
            }, [] {});
        pool.finish();
    }
    std::vector<index_answer> answers;
    for (std::size_t k = 0; k < selected.size(); ++k) {
        planned_file pf;
        pf.file = std::move(selected[k]);
        if (!look[k].failure.empty()) {
            if (!(pf.file.newest && pf.file.size < 4096)) plan.problems.push_back(look[k].failure);
            continue;
        }
        pf.interfaces = std::move(look[k].interfaces);
        answers.push_back(std::move(look[k].answer));
        for (const auto& i : pf.interfaces) {
            if (std::find(plan.linktypes.begin(), plan.linktypes.end(), i.linktype) == plan.linktypes.end())
                plan.linktypes.push_back(i.linktype);
            plan.snaplen = std::max(plan.snaplen, i.snaplen ? i.snaplen : standard_max_snaplen);
            if (i.ts_digits > 6) plan.nanoseconds = true;
        }
        plan.bytes += pf.file.size;
        plan.files.push_back(std::move(pf));
    }
    plan_index_reads(plan, req, &answers);
    plan.format = plan.linktypes.size() > 1 ? output_format::pcapng : output_format::pcap;
    if (req.format) {
        if (*req.format == output_format::pcap && plan.linktypes.size() > 1)
            throw usage_error("cannot write pcap: the files of the window have " +
                              std::to_string(plan.linktypes.size()) +
                              " link types and a pcap file holds one; use -F pcapng");
        plan.format = *req.format;
    }
    return plan;
}

}  // namespace capture

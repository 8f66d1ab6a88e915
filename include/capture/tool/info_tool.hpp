// cap-info: describe capture files named as arguments or arriving as
// records on stdin, like capinfos and like the original `capture -sv`.
#pragma once

#include "capture/engine/cli.hpp"
#include "capture/engine/index_query.hpp"
#include "capture/engine/info.hpp"
#include "capture/text/links.hpp"
#include "capture/sys/parallel.hpp"

#include <ctime>
#include <memory>
#include <optional>
#include <string>

namespace capture {

/// Runs cap-info over ctx's inputs; returns the exit code. With -v, a
/// record with an expression (expr) gets the suggested links too.
inline int run_info(cli::context& ctx) {
    struct item {
        record rec;
        capture_summary summary;
        std::optional<record> index;  // a capture index (cap-index(5)), described
        std::string failure;  // the file could not be read at all
    };
    bool failed = false;
    bool first_block = true;
    ordered_pool pool(cli::jobs(ctx));
    bool inputs_ok = cli::for_each_input(ctx, [&](record& r) {
        auto it = std::make_shared<item>();
        it->rec = std::move(r);
        auto work = [it] {
            const std::string* path = it->rec.find("file");
            if (!path || path->empty()) {
                it->failure = "record without a file key: " + format_record(it->rec);
                return;
            }
            try {
                if (is_index_name(file_name_of(*path))) it->index = describe_index(*path, it->rec);
                else it->summary = summarize_capture(*path);
            } catch (const std::exception& e) {
                it->failure = e.what();
            }
        };
        auto emit = [it, &ctx, &failed, &first_block] {
            if (!it->failure.empty()) {
                ctx.warn(it->failure);
                failed = true;
                return;
            }
            if (it->index) {
                if (ctx.output == output_mode::human) {
                    if (!first_block) *ctx.out << '\n';
                    const record& x = *it->index;
                    *ctx.out << "Index: " << x.get("file") << '\n';
                    for (const char* k : {"capture", "fresh", "why", "packets", "blocks", "keys", "hosts", "ports",
                                          "bytes", "capture_bytes", "ratio", "linktype", "block_bytes"})
                        if (x.has(k)) *ctx.out << "  " << k << ": " << x.get(k) << '\n';
                    first_block = false;
                } else {
                    write_record(*ctx.out, *it->index, ctx.output);
                }
                ctx.out->flush();
                return;
            }
            if (!it->summary.error.empty()) {
                ctx.warn(it->summary.error);
                failed = true;
            }
            record described = summary_record(it->summary, it->rec);
            std::vector<resource_link> links;
            if (ctx.verbose) {
                links = links_for_record(ctx.config.links, described, std::time(nullptr));
                set_links(described, links);
                it->rec.erase("links");  // said afresh below, one link a line
            }
            if (ctx.output == output_mode::human) {
                if (!first_block) *ctx.out << '\n';
                write_summary_human(*ctx.out, it->summary, it->rec);
                write_links_human(*ctx.out, links, "  ");
                first_block = false;
            } else {
                write_record(*ctx.out, described, ctx.output);
            }
            ctx.out->flush();
        };
        pool.submit(std::move(work), std::move(emit));
    });
    pool.finish();
    return failed || !inputs_ok ? exit_failure : exit_ok;
}

}  // namespace capture

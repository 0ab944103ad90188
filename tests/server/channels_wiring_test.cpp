// The composition step serve and local runs share: configured channels keep Slack thread
// parents in the store's settings, so a reply after a process restart (a new registry on the
// reopened store) lands in the same thread.
#include "opsrun/server/channels_wiring.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "fakes/slack_fake.h"
#include "opsrun/common/ids.h"
#include "opsrun/config/config.h"
#include "opsrun/store/store.h"

namespace opsrun::server {
namespace {

namespace fs = std::filesystem;

TEST(ChannelsWiring, SlackThreadParentSurvivesAStoreReopen) {
  testing::SlackFake slack;
  const fs::path dir = fs::temp_directory_path() / ("opsrun-wiring-" + random_hex(6));
  auto cfg = config::load_text(
      "channels:\n  slack:\n    bot_token: " + std::string(testing::SlackFake::kToken) +
      "\n    api_url: " + slack.api_url() + "\n    channel: ops\n");
  ASSERT_TRUE(cfg) << cfg.error().describe();
  notify::Notification n;
  n.message = "disk full";
  n.key = "disk-web01";
  FakeClock clock;
  for (int run = 0; run < 2; ++run) {
    auto store = store::open_store({.data_dir = dir.string()});
    ASSERT_TRUE(store) << store.error().describe();
    notify::ChannelRegistry registry;
    wire_channels(registry, cfg->channels, clock, store->get());
    auto sent = registry.send("slack", n);
    ASSERT_TRUE(sent) << sent.error().describe();
    EXPECT_EQ(sent->at("thread").as_string(), run == 0 ? "started" : "replied");
  }
  const auto m = slack.messages();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[1].thread_ts, m[0].ts);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace opsrun::server

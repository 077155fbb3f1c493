-- The four daily aggregate tables, kept forever. A day is a UTC calendar day.
-- Unique keys treat a missing share_code (or click_category) as one value (NULLS NOT DISTINCT),
-- so re-aggregating a day can never add a second row for the same key.

CREATE TABLE analytics_daily_user_stats (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_code          text NOT NULL,
    date               date NOT NULL,
    total_sessions     integer NOT NULL DEFAULT 0,
    total_page_views   integer NOT NULL DEFAULT 0,
    total_clicks       integer NOT NULL DEFAULT 0,
    unique_share_codes text[] NOT NULL DEFAULT '{}',
    computed_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE analytics_daily_user_stats IS 'Sessions, page views, clicks and share codes per user code and day.';
CREATE UNIQUE INDEX idx_daily_user_stats_user_date
    ON analytics_daily_user_stats (user_code, date DESC);
CREATE INDEX idx_daily_user_stats_date ON analytics_daily_user_stats (date);


CREATE TABLE analytics_daily_group_stats (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_code        text NOT NULL,
    share_code       text,
    date             date NOT NULL,
    total_sessions   integer NOT NULL DEFAULT 0,
    total_page_views integer NOT NULL DEFAULT 0,
    total_clicks     integer NOT NULL DEFAULT 0,
    computed_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE analytics_daily_group_stats IS 'The user stats split by the rows'' own share code (NULL: no share code).';
CREATE UNIQUE INDEX idx_daily_group_stats_user_share_date
    ON analytics_daily_group_stats (user_code, share_code, date DESC) NULLS NOT DISTINCT;
CREATE INDEX idx_daily_group_stats_date ON analytics_daily_group_stats (date);


CREATE TABLE analytics_daily_click_targets (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_code      text NOT NULL,
    share_code     text,
    date           date NOT NULL,
    click_target   text NOT NULL,
    click_category text,
    click_count    integer NOT NULL DEFAULT 0,
    computed_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE analytics_daily_click_targets IS 'Clicks per user code, share code, day, click target and category.';
CREATE UNIQUE INDEX analytics_daily_click_targets_key
    ON analytics_daily_click_targets (user_code, share_code, date, click_target, click_category)
    NULLS NOT DISTINCT;
CREATE INDEX idx_daily_click_targets_user_date ON analytics_daily_click_targets (user_code, date DESC);
CREATE INDEX idx_daily_click_targets_date ON analytics_daily_click_targets (date);


CREATE TABLE analytics_daily_page_stats (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_code   text NOT NULL,
    share_code  text,
    date        date NOT NULL,
    page_type   text NOT NULL,
    view_count  integer NOT NULL DEFAULT 0,
    computed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE analytics_daily_page_stats IS 'Page views per user code, share code, day and page type.';
CREATE UNIQUE INDEX analytics_daily_page_stats_key
    ON analytics_daily_page_stats (user_code, share_code, date, page_type) NULLS NOT DISTINCT;
CREATE INDEX idx_daily_page_stats_user_date ON analytics_daily_page_stats (user_code, date DESC);
CREATE INDEX idx_daily_page_stats_date ON analytics_daily_page_stats (date);

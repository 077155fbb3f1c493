"""The raw event tables, written by the ingest service: external assets (Dagster observes and
reads them, never materializes them).

They are partitioned by UTC day like the daily tables (page views by viewed_at, clicks by
clicked_at, sessions by first_seen), so each day's row count and latest receive time, reported
by raw_tables_observation_sensor, shows on that day's partition, and a daily partition depends
on the same day of the raw tables."""

from __future__ import annotations

from datetime import timedelta

from dagster import AssetSpec

from clik_pipeline.partitions import daily_partitions
from clik_pipeline.tables import CLICKS, PAGE_VIEWS, SESSIONS, table_metadata

RAW_GROUP = "raw"

# An ingest transaction stamps received_at when it starts and shows its rows when it commits, so
# rows received this recently may belong to transactions still open: what reads the raw tables
# by received_at (the observation and late-data sensors) reads only up to now minus this.
RECEIVED_LAG = timedelta(minutes=2)


analytics_sessions = AssetSpec(
    SESSIONS,
    group_name=RAW_GROUP,
    partitions_def=daily_partitions,
    description="One row per visitor session; page_views and clicks are counters kept by "
    "triggers. Counted on the UTC day of first_seen.",
    kinds={"postgres"},
    metadata=table_metadata(
        SESSIONS,
        ("session_id", "text", "primary key, chosen by the tracker"),
        ("user_code", "text", "whose page the visitor saw"),
        ("share_code", "text", "which shared link or QR code brought them (nullable)"),
        ("contact_id", "text", "contact the page was shared with (nullable)"),
        ("first_seen", "timestamptz", "earliest event time of the session"),
        ("last_seen", "timestamptz", "latest event time of the session"),
        ("page_views", "integer", "number of its rows in analytics_page_views"),
        ("clicks", "integer", "number of its rows in analytics_clicks"),
        ("ip_address", "text", "client address as CLIK_IP_MODE keeps it"),
        ("user_agent", "text", "browser user agent"),
        ("referrer", "text", "document.referrer of the first page"),
        ("received_at", "timestamptz", "server time of creation or of first_seen moving"),
    ),
)

analytics_page_views = AssetSpec(
    PAGE_VIEWS,
    group_name=RAW_GROUP,
    partitions_def=daily_partitions,
    description="One row per page view, partitioned by UTC day of viewed_at.",
    kinds={"postgres"},
    metadata=table_metadata(
        PAGE_VIEWS,
        ("id", "uuid", "event id from the tracker (UUIDv7); key with viewed_at"),
        ("session_id", "text", "its session"),
        ("user_code", "text", "whose page was viewed"),
        ("share_code", "text", "the row's own share code (nullable)"),
        ("contact_id", "text", "contact (nullable)"),
        ("page_type", "text", "home, contact, portfolio, ..."),
        ("viewed_at", "timestamptz", "when it happened (partition key)"),
        ("received_at", "timestamptz", "when the server stored it"),
    ),
)

analytics_clicks = AssetSpec(
    CLICKS,
    group_name=RAW_GROUP,
    partitions_def=daily_partitions,
    description="One row per click, partitioned by UTC day of clicked_at.",
    kinds={"postgres"},
    metadata=table_metadata(
        CLICKS,
        ("id", "uuid", "event id from the tracker (UUIDv7); key with clicked_at"),
        ("session_id", "text", "its session"),
        ("user_code", "text", "whose page was clicked"),
        ("share_code", "text", "the row's own share code (nullable)"),
        ("contact_id", "text", "contact (nullable)"),
        ("click_target", "text", "phone, email, whatsapp, or a data-clik-click name"),
        ("click_category", "text", "e.g. contact (nullable)"),
        ("clicked_at", "timestamptz", "when it happened (partition key)"),
        ("received_at", "timestamptz", "when the server stored it"),
    ),
)

raw_event_tables = [analytics_sessions, analytics_page_views, analytics_clicks]

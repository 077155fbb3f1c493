"""Daily rows for the dashboard tests: a card's figures over many days up to today, consistent
across the four daily tables as the pipeline writes them (the user stats are the sums of the
share-code split, page types and click targets), with a quiet day every week."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg

SHARE_CODES = (("qr1", 3), ("link", 2), (None, 1))  # share code and its weight
QUIET_EVERY = 7  # every 7th day, counting back from today + 3, has no rows at all


def is_quiet(today: date, day: date) -> bool:
    return (today - day).days % QUIET_EVERY == 3


def seed_card(conn: psycopg.Connection, user_code: str, scale: int, today: date, days: int) -> None:
    """Rows for `user_code` on the `days` days up to and including `today`; every figure is a
    multiple of `scale`, so one card's numbers cannot pass for another's."""
    for offset in range(days):
        day = today - timedelta(offset)
        if is_quiet(today, day):
            continue
        totals = [0, 0, 0]
        for share_code, weight in SHARE_CODES:
            sessions = scale * weight * (1 + offset % 5)
            home, contact_page = 2 * sessions, sessions // 2 + scale
            phone, email, website = sessions // 3, sessions // 4, scale * (offset % 3)
            views, clicks = home + contact_page, phone + email + website
            totals = [totals[0] + sessions, totals[1] + views, totals[2] + clicks]
            row = {"u": user_code, "s": share_code, "d": day}
            conn.execute(
                "INSERT INTO analytics_daily_group_stats (user_code, share_code, date,"
                " total_sessions, total_page_views, total_clicks)"
                " VALUES (%(u)s, %(s)s, %(d)s, %(sessions)s, %(views)s, %(clicks)s)",
                row | {"sessions": sessions, "views": views, "clicks": clicks},
            )
            conn.execute(
                "INSERT INTO analytics_daily_page_stats (user_code, share_code, date, page_type,"
                " view_count) VALUES (%(u)s, %(s)s, %(d)s, 'home', %(home)s),"
                " (%(u)s, %(s)s, %(d)s, 'contact', %(contact)s)",
                row | {"home": home, "contact": contact_page},
            )
            conn.execute(
                "INSERT INTO analytics_daily_click_targets (user_code, share_code, date,"
                " click_target, click_category, click_count)"
                " VALUES (%(u)s, %(s)s, %(d)s, 'phone', 'contact', %(phone)s),"
                " (%(u)s, %(s)s, %(d)s, 'email', 'contact', %(email)s),"
                " (%(u)s, %(s)s, %(d)s, 'website', 'link', %(website)s)",
                row | {"phone": phone, "email": email, "website": website},
            )
        conn.execute(
            "INSERT INTO analytics_daily_user_stats (user_code, date, total_sessions,"
            " total_page_views, total_clicks, unique_share_codes)"
            " VALUES (%s, %s, %s, %s, %s, '{link,qr1}')",
            [user_code, day, *totals],
        )


def expected_totals(conn: psycopg.Connection, user_code: str, first: date, last: date) -> dict:
    """The range's figures straight from the daily tables (as the schema owner)."""
    sessions, views, clicks = conn.execute(
        "SELECT coalesce(sum(total_sessions), 0), coalesce(sum(total_page_views), 0),"
        " coalesce(sum(total_clicks), 0) FROM analytics_daily_user_stats"
        " WHERE user_code = %s AND date >= %s AND date <= %s",
        [user_code, first, last],
    ).fetchone()
    [contact] = conn.execute(
        "SELECT coalesce(sum(click_count), 0) FROM analytics_daily_click_targets"
        " WHERE user_code = %s AND date >= %s AND date <= %s AND click_category = 'contact'",
        [user_code, first, last],
    ).fetchone()
    return {"sessions": sessions, "page_views": views, "clicks": clicks, "contact_clicks": contact}

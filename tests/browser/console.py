"""The staff web console in a real browser: headless Chromium (Debian's
package) driven by Playwright. An agent signs in, finds the lead's call on the
worklist, claims it, records that the customer was reached, books an
appointment in a slot picked from the day's free ones and sees the month's
appointment measure change; edits a request to ask another dealer's worklist
and is refused; switches the language. A care manager signs in with a login and
password, files a complaint on the board, acknowledges and escalates it and reads its timeline, then reads the
churn dashboard, the targets, the scorecards and the owner club; an
administrator reads the operations page. Screenshots
of each page at 1366x768 and at tablet width go to the directory given. Exits
non-zero, saying what failed, when anything does.

Run by the e2e test `browser`, which starts aftercare and seeds the call.
"""

import argparse
import json
import os
import sys

from playwright.sync_api import expect, sync_playwright


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--manager-login", required=True)
    parser.add_argument("--manager-password", required=True)
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    shot = lambda page, name: page.screenshot(path=os.path.join(args.screenshots, name), full_page=True)
    chromium = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page = context.new_page()
        page.goto(args.url + "/worklist")
        # Signed out: the sign-in page, in Chinese.
        expect(page).to_have_url(args.url + "/login")
        expect(page.get_by_text("访问令牌")).to_be_visible()
        shot(page, "login-zh.png")
        page.fill("input[name=token]", args.token)
        page.click("#by-token button[type=submit]")
        expect(page).to_have_url(args.url + "/worklist")
        # The lead's call, claimed, then an attempt recorded.
        row = page.locator("#tasks tr[data-task]").first
        expect(row).to_be_visible(timeout=30_000)
        expect(row).to_contain_text("线索首次联系")
        shot(page, "worklist-zh.png")
        # The customer beside the call: the file panel opens from the row.
        row.locator("td").nth(1).click()
        expect(page.locator("#file")).to_be_visible()
        expect(page.locator("#file-title")).to_contain_text("孙丽")
        expect(page.locator("#error")).to_have_text("")
        # The month's measures before the call: no reached call yet.
        appointments = page.locator("#figures tr[data-key='appointment_rate'] td").nth(1)
        expect(appointments).to_have_text("0/0")
        row.get_by_role("button", name="认领").click()
        # Claimed: the attempts are a click each (an unanswered one would take
        # the call off the list until its retry is due).
        expect(row.get_by_role("button", name="未接通")).to_be_visible(timeout=30_000)
        # Reached: the call opens beside the list for its outcome.
        row.get_by_role("button", name="已接通").click()
        expect(page.locator("#call")).to_be_visible()
        page.locator("#satisfaction").get_by_role("button", name="满意", exact=True).click()
        # Tomorrow's slots, each with its free bays; the first free one taken.
        slot = page.locator("#slots button:not([disabled])").first
        expect(slot).to_contain_text("空闲 6/6", timeout=30_000)
        slot.click()
        expect(slot).to_have_class("chosen")
        shot(page, "worklist-call-zh.png")
        page.click("#record")
        expect(page.locator("#error")).to_have_text("")
        expect(page.locator("#call-done")).to_contain_text("已预约")
        # The measure changed: one reached call, with an appointment.
        expect(appointments).to_have_text("1/1 · 100%", timeout=30_000)
        shot(page, "worklist-booked-zh.png")
        # The session cookie is out of the page's scripts' reach.
        assert page.evaluate("document.cookie").find("aftercare_session") < 0, "the session cookie is readable by scripts"
        # Another dealer's worklist by editing the request: refused.
        answer = page.evaluate(
            "async () => { const r = await fetch('/api/worklist?dealer=D002'); return [r.status, await r.text()]; }"
        )
        assert answer[0] == 403, f"another dealer's worklist answered {answer}"
        # Or by editing the page's address: the dealer picker still offers only
        # the agent's own dealer, and the list is D001's.
        page.goto(args.url + "/worklist?dealer=D002")
        expect(page.locator("#dealer option")).to_have_count(1)
        expect(page.locator("#dealer")).to_have_value("D001")
        expect(page.locator("#error")).to_have_text("")
        # English, and a tablet.
        page.click("#lang")
        expect(page.locator("#title")).to_have_text("Worklist")
        shot(page, "worklist-en.png")
        page.set_viewport_size({"width": 768, "height": 1024})
        shot(page, "worklist-tablet.png")
        page.set_viewport_size({"width": 1366, "height": 768})
        # An agent's navigation has no complaint board or reports.
        expect(page.get_by_role("link", name="Complaints")).to_have_count(0)
        expect(page.get_by_role("link", name="Operations")).to_have_count(0)
        # A customer-care manager reads the churn dashboard: the year's line,
        # the month's bars and the seed-style table by model.
        manager = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page = manager.new_page()
        page.goto(args.url + "/login")
        # The manager signs in with a login and password: a wrong one first.
        page.fill("input[name=login]", args.manager_login)
        page.fill("input[name=password]", args.manager_password + "x")
        page.click("#by-password button[type=submit]")
        expect(page.locator(".error")).to_have_text("用户名或密码不正确。")
        page.fill("input[name=login]", args.manager_login)
        page.fill("input[name=password]", args.manager_password)
        page.click("#by-password button[type=submit]")
        expect(page).to_have_url(args.url + "/worklist")
        # A dealer's full worklist, at a desk and on a tablet.
        expect(page.locator("#tasks tr[data-task]").first).to_be_visible(timeout=30_000)
        shot(page, "worklist-d002-zh.png")
        page.set_viewport_size({"width": 768, "height": 1024})
        shot(page, "worklist-d002-tablet.png")
        page.set_viewport_size({"width": 1366, "height": 768})
        # The complaint board: a walk-in complaint filed, acknowledged and
        # escalated with a reason typed in its row; its timeline beside.
        page.get_by_role("link", name="投诉看板").click()
        expect(page.locator("#title")).to_have_text("投诉看板")
        page.click("#new")
        page.fill("#description", "保养后发动机异响，客户要求店长处理")
        page.click("#file")
        expect(page.locator("#error")).to_have_text("")
        expect(page.locator("#filed")).to_contain_text("已登记")
        ticket = page.locator("#tickets tr", has_text="保养后发动机异响")
        expect(ticket).to_have_attribute("data-status", "open", timeout=30_000)
        ticket.get_by_role("button", name="受理").click()
        expect(ticket).to_have_attribute("data-status", "in-progress", timeout=30_000)
        ticket.get_by_role("button", name="升级").click()
        ticket.get_by_role("textbox").fill("客户第二次来电投诉")
        ticket.get_by_role("button", name="确定").click()
        expect(page.locator("#error")).to_have_text("")
        expect(page.locator("#timeline tr[data-kind='escalated']")).to_have_count(1, timeout=30_000)
        expect(page.locator("#timeline")).to_contain_text("客户第二次来电投诉")
        shot(page, "complaints-zh.png")
        page.set_viewport_size({"width": 768, "height": 1024})
        shot(page, "complaints-tablet.png")
        page.set_viewport_size({"width": 1366, "height": 768})
        page.get_by_role("link", name="流失率").click()
        expect(page.locator("#title")).to_have_text("流失率")
        expect(page.locator("#table tr").last).to_contain_text("合计", timeout=30_000)
        # The generated dealer's vehicles are counted, model by model.
        assert page.locator("#table tr").count() > 1, "no model lines in the churn table"
        expect(page.locator("#error")).to_have_text("")
        # Both charts drawn (their entry animation finished), for the screenshot.
        expect(page.locator("#trend[data-drawn='1'] canvas")).to_have_count(1)
        expect(page.locator("#bars[data-drawn='1'] canvas")).to_have_count(1)
        shot(page, "churn-zh.png")
        page.set_viewport_size({"width": 768, "height": 1024})
        shot(page, "churn-tablet.png")
        page.set_viewport_size({"width": 1366, "height": 768})
        # The year's targets against the actuals.
        page.get_by_role("link", name="目标达成").click()
        expect(page.locator("#title")).to_have_text("目标达成")
        section = page.locator("section[data-metric='churn-rate']")
        expect(section).to_be_visible(timeout=30_000)
        expect(section.locator("tbody tr").first).to_be_visible()
        expect(page.locator("#error")).to_have_text("")
        expect(section.locator(".chart[data-drawn='1']")).to_have_count(1)
        shot(page, "targets-zh.png")
        # The owner club: the generated dealer's members, per card.
        page.get_by_role("link", name="车主俱乐部").click()
        expect(page.locator("#title")).to_have_text("车主俱乐部")
        members = page.locator("#figures tr[data-key='members'] td").last
        expect(members).not_to_have_text("0", timeout=30_000)
        expect(page.locator("#error")).to_have_text("")
        expect(page.locator("#cards[data-drawn='1']")).to_have_count(1)
        shot(page, "club-zh.png")
        # Last month's scorecards: the groups against their rate, and who
        # earned or lost what.
        page.get_by_role("link", name="考核奖惩").click()
        expect(page.locator("#title")).to_have_text("考核奖惩")
        expect(page.locator("#summary tr[data-key='dealerRate']")).to_contain_text("%", timeout=30_000)
        expect(page.locator("#groups tr[data-who]").first).to_be_visible()
        expect(page.locator("#groups")).to_contain_text("¥")
        expect(page.locator("#error")).to_have_text("")
        expect(page.locator("#chart[data-drawn='1']")).to_have_count(1)
        shot(page, "scorecards-zh.png")
        # An administrator's operations page: every projection's position and
        # lag, and the dead letters.
        admin = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page = admin.new_page()
        page.goto(args.url + "/login")
        page.fill("input[name=token]", args.admin_token)
        page.click("#by-token button[type=submit]")
        page.get_by_role("link", name="运维").click()
        expect(page.locator("#title")).to_have_text("运维")
        expect(page.locator("#projections tr[data-projection='callback_tasks']")).to_have_count(1, timeout=30_000)
        expect(page.locator("#error")).to_have_text("")
        shot(page, "operations-zh.png")
        browser.close()
    print(json.dumps({"ok": True, "screenshots": sorted(os.listdir(args.screenshots))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

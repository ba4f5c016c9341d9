"""Screenshots of the admin for the README: the model list, the dashboard and a model form.

Taken by the browser tests against a throwaway database with the starter catalog:

    LLM_ADMIN_SCREENSHOTS=1 .venv/bin/pytest models_registry/tests/browser -k readme_screenshots

(without it, the same test takes them into a temporary folder, to check they can be taken)

or against a running server (`make run`), signing in with an existing staff login:

    .venv/bin/python docs/screenshots/make_screenshots.py --url http://127.0.0.1:8000 --username admin
"""

import argparse
import getpass
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent
VIEWPORT = {"width": 1400, "height": 900}
FORM_MODEL = "claude-sonnet-5-5"  # a starter-catalog model with industry profiles
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def take_screenshots(page, out_dir: Path = OUT_DIR) -> list[Path]:
    """Save the three screenshots from `page`, a signed-in page whose base URL is the server."""
    page.set_viewport_size(VIEWPORT)
    # The admin's navigation sidebar collapsed (as the « button leaves it): room for the columns.
    page.goto("/admin/")
    page.evaluate("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    written = []

    def shot(path: str, name: str) -> None:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        target = out_dir / name
        page.screenshot(path=str(target))
        written.append(target)

    shot("/admin/models_registry/aimodel/", "model-list.png")
    shot("/admin/", "dashboard.png")
    page.goto(f"/admin/models_registry/aimodel/?q={FORM_MODEL}")
    form_path = page.locator("#result_list tbody th.field-name a").first.get_attribute("href")
    shot(form_path, "model-form.png")
    return written


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    password = getpass.getpass(f"Password for {args.username}: ")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=LAUNCH_ARGS)
        page = browser.new_context(base_url=args.url, viewport=VIEWPORT).new_page()
        page.goto("/admin/login/?next=/admin/")
        page.fill("#id_username", args.username)
        page.fill("#id_password", password)
        with page.expect_navigation():
            page.click("input[type=submit]")
        for path in take_screenshots(page):
            print(path)
        browser.close()


if __name__ == "__main__":
    main()

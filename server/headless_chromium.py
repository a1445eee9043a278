"""The flags every headless Chromium we launch gets (set-up's snapshot maker, the tests,
the benchmarks), so all of them run the same browser.

Without the first two it keeps trying to reach Google's hosts (there is no network
here). Without the WebUI omnibox features, every new page (tab) starts a "top Chrome"
WebUI renderer for the omnibox popup, which is never shown headless: a second renderer
parsing ~100 of Chrome's own modules in the first second of each visit, as much CPU as
the page itself on a 2-core machine (a trace of a repeat visit: 4.9 s of tasks in the
WebUI renderer against 4.8 s in the page's), which slowed and skewed every start-up
figure.
"""

CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--no-sandbox",
    "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup",
]

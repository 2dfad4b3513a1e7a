"""report.html in a real browser (headless Chromium through Selenium): the leaderboard renders its rows,
a clicked header re-sorts, filters hide rows, a row opens its cells, the plot's points are the rows
shown, the CSV export holds what is shown, and the console stays free of errors."""

import time

import pytest

from reports import HTML_FILE, write_reports
from scripts.html_report_size import chromium_driver, open_report, write_results

TASKS, METHODS, SEEDS = 3, 4, 5
ROWS = TASKS * METHODS  # measured rows; each task also has a majority-class row, which has no costs to plot


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = chromium_driver()
    if driver is None:
        pytest.skip("no Chromium or no selenium here: apt-get install chromium chromium-driver "
                    "(and pip install the test extra)")
    folder = write_results(tmp_path_factory.mktemp("run"), ROWS * SEEDS, tasks=TASKS, methods=METHODS)
    write_reports(folder)
    driver.get_log("browser")  # start the console log empty
    open_report(driver, folder / HTML_FILE)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser):
    """The page as first drawn: no filter, no search, default order, no row open."""
    browser.execute_script("""
        for (const select of document.querySelectorAll('.filters select[data-field]')) select.value = '';
        leaderboard.rows().every(function () { this.child.hide(); });
        leaderboard.search('').order([[0, 'asc'], [6, 'desc']]).draw();
        const axis = document.getElementById('pareto-axis');
        axis.value = 'trainable';
        axis.dispatchEvent(new Event('change'));""")
    return browser


def shown(driver, column: int) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#leaderboard > tbody > tr.leaderboard-row')]"
        ".map((tr) => tr.children[arguments[0]].textContent)", column)


def plotted_points(driver) -> int:
    return driver.execute_script(
        "return document.getElementById('pareto').data.filter((trace) => trace.meta === 'points')"
        ".reduce((sum, trace) => sum + trace.x.length, 0)")


def wait_for(condition, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_html_report_renders_a_row_per_configuration_and_the_majority_class(page):
    assert len(shown(page, 0)) == ROWS + TASKS
    methods = [f"method{index}" for index in range(METHODS)]
    assert sorted(set(shown(page, 1))) == ["majority class reference", *methods]
    assert len(page.find_elements("css selector", "tr.row-reference .badge-reference")) == TASKS


def test_html_report_sorts_by_a_clicked_header(page):
    def trainable() -> list[int]:  # the majority class has no trainable parameters: it sorts below all
        return [int(text.replace(",", "")) for text in shown(page, 9) if text != "–"]

    def click_header() -> None:  # found afresh: a redraw may replace the header's nodes
        page.find_element("css selector", "#leaderboard thead th:nth-child(10)").click()  # trainable params

    assert trainable() != sorted(trainable())  # the default order is by task, then score
    click_header()
    assert wait_for(lambda: trainable() == sorted(trainable()))
    click_header()
    assert wait_for(lambda: trainable() == sorted(trainable(), reverse=True))


def test_html_report_filter_hides_rows(page):
    page.find_element("css selector", "#filter-task option[value='task1']").click()
    assert set(shown(page, 0)) == {"task1"} and len(shown(page, 0)) == METHODS + 1
    search = page.find_element("css selector", "#leaderboard_wrapper input[type='search'], .dt-search input")
    search.send_keys("method2")
    assert wait_for(lambda: shown(page, 1) == ["method2"])


def test_html_report_plot_points_equal_the_rows_shown(page):
    assert wait_for(lambda: plotted_points(page) == ROWS)
    majority_lines = page.execute_script("return document.getElementById('pareto').layout.shapes.length")
    assert majority_lines == TASKS  # the majority class: a line per task, not a point
    page.find_element("css selector", "#filter-method option[value='method0']").click()
    assert wait_for(lambda: plotted_points(page) == len(shown(page, 0)) == TASKS)


def test_html_report_csv_export_holds_the_rows_shown(page):
    page.find_element("css selector", "#filter-task option[value='task2']").click()
    exported = page.execute_script("const data = leaderboard.buttons.exportData("
                                   "{orthogonal: 'export', columns: () => true});"
                                   "return {header: data.header, body: data.body}")
    assert [row[0] for row in exported["body"]] == ["task2"] * (METHODS + 1)
    trainable = exported["body"][0][exported["header"].index("Trainable params")]
    assert "Std" in exported["header"] and isinstance(trainable, int)  # plain numbers, the hidden std too
    assert page.find_element("css selector", ".buttons-csv").text.startswith("Export CSV")


def test_html_report_row_opens_its_seeds_and_splits(page):
    page.find_element("css selector", "#leaderboard > tbody > tr.leaderboard-row").click()
    drill = page.find_elements("css selector", "#leaderboard table.drill tr")
    assert len(drill) == 1 + SEEDS and "cell id" in drill[0].text


def test_html_report_plot_axis_switches_to_peak_memory(page):
    page.find_element("css selector", "#pareto-axis option[value='peak_mib']").click()
    plotted = page.execute_script(
        "return document.getElementById('pareto').data.filter((trace) => trace.meta === 'points')"
        ".flatMap((trace) => trace.x)")
    memory = page.execute_script("return leaderboard.rows({search: 'applied'}).data().toArray()"
                                 ".map((row) => row.peak_mib).filter((value) => value !== null)")
    assert sorted(plotted) == sorted(memory) and len(plotted) == ROWS
    assert "memory" in page.execute_script("return document.getElementById('pareto').layout.xaxis.title.text")


def test_html_report_logs_no_console_errors(browser):  # last: after every interaction above
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []

"""One generated file per class of messy input (issue 19): what the crawler must
declare and what the ingest must land — or the named reason it refuses the file.

``rows`` are the landed rows of ``checked`` columns (all of them when empty), each
value as Spark casts it to a string (``None`` for null), in any order.
``quarantined``: lines the ingest sets aside with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

Row = tuple[str | None, ...]


@dataclass(frozen=True)
class Pollution:
    name: str
    file_name: str
    text: str
    classification: str = "csv"
    columns: tuple[str, ...] = ()  # the declared column names, in order
    rows: tuple[Row, ...] = ()
    checked: tuple[str, ...] = ()  # the columns ``rows`` hold; empty: all
    quarantined: int = 0
    why: str = ""  # a fragment of the reason every quarantined line is set aside with
    refused: str = ""  # a fragment of the named reason the crawler skips the file with
    types: tuple[tuple[str, str], ...] = ()  # landed column types to check
    encoding: str = "utf-8"

    @property
    def data(self) -> bytes:
        return self.text.encode(self.encoding)


def _log4j_lines() -> str:
    lines = [
        f"2015-10-18 18:01:{i:02d},{i * 7:03d} {'WARN' if i % 5 == 0 else 'INFO'} [main] "
        f"org.apache.hadoop.mapreduce.v2.app.MRAppMaster: step {i}, done"
        for i in range(20)
    ]
    lines.insert(7, "\tat org.apache.hadoop.Something.run(Something.java:42)")
    return "\n".join(lines) + "\n"


CSV_CASES = (
    Pollution(
        "stray_quote_in_a_value",
        "parts.csv",
        'id,name,size\n1,5" pipe,3\n2,abc,4\n3,"quoted, yes",5\n4,12" ruler,7\n',
        columns=("id", "name", "size"),
        rows=(
            ("1", '5" pipe', "3"),
            ("2", "abc", "4"),
            ("3", "quoted, yes", "5"),
            ("4", '12" ruler', "7"),
        ),
    ),
    Pollution(
        "stray_quote_opening_a_value",
        "parts.csv",
        'id,name,size\n1,"5 pipe,3\n2,abc,4\n3,x y,5\n4,d,6\n',
        columns=("id", "name", "size"),
        rows=(("1", '"5 pipe', "3"), ("2", "abc", "4"), ("3", "x y", "5"), ("4", "d", "6")),
    ),
    Pollution(
        "space_delimiter",
        "data.txt",
        "id name amount\n1 a 2.5\n2 b 3.5\n3 c 4.5\n",
        columns=("id", "name", "amount"),
        rows=(("1", "a", "2.5"), ("2", "b", "3.5"), ("3", "c", "4.5")),
    ),
    Pollution(
        "comma_and_space_delimiter",
        "data.csv",
        'id, name, amount\n1, a, 2.5\n2, b, 3.5\n3, "c, d", 4.5\n',
        columns=("id", "name", "amount"),
        rows=(("1", "a", "2.5"), ("2", "b", "3.5"), ("3", "c, d", "4.5")),
    ),
    Pollution(
        "single_quote_quoting",
        "data.csv",
        "id,name,amount\n1,'a, b',2.5\n2,'b',3.5\n3,c,4.5\n",
        columns=("id", "name", "amount"),
        rows=(("1", "a, b", "2.5"), ("2", "b", "3.5"), ("3", "c", "4.5")),
    ),
    Pollution(
        "backslash_escape",
        "data.csv",
        'id,name,amount\n1,"a \\"big\\" one",2.5\n2,"b, \\"q\\"",3.5\n3,c,4.5\n',
        columns=("id", "name", "amount"),
        rows=(("1", 'a "big" one', "2.5"), ("2", 'b, "q"', "3.5"), ("3", "c", "4.5")),
    ),
    Pollution(
        "header_and_no_rows",
        "data.csv",
        "id,name,amount\n",
        columns=("id", "name", "amount"),
        rows=(),
    ),
    Pollution(
        "header_with_a_separator_too_many",
        "data.csv",
        "id,name,,amount\n1,a,2.5\n2,b,3.5\n",
        columns=("id", "name", "amount"),
        rows=(("1", "a", "2.5"), ("2", "b", "3.5")),
    ),
    Pollution(
        "header_with_a_separator_too_few",
        "data.csv",
        "id,name\n1,a,2.5\n2,b,3.5\n",
        columns=("id", "name", "col2"),
        rows=(("1", "a", "2.5"), ("2", "b", "3.5")),
    ),
    Pollution(
        "names_as_spelled",
        "data.csv",
        'Id,Customer Name,"Amount (USD)","say ""hi"""\n1,Ann,2.5,x\n2,Bob,3.5,y\n',
        columns=("Id", "Customer Name", "Amount (USD)", 'say "hi"'),
        rows=(("1", "Ann", "2.5", "x"), ("2", "Bob", "3.5", "y")),
    ),
    Pollution(
        "line_break_in_a_header_name",
        "data.csv",
        '"first\nname",age\nann,31\nbob,42\n',
        columns=("first name", "age"),
        rows=(("ann", "31"), ("bob", "42")),
    ),
    Pollution(
        "comment_lines_above_the_header",
        "data.csv",
        "# exported by tool 1.2\n# 2024-01-01, all rows\nid,name,amount\n1,a,2.5\n2,b,3.5\n",
        columns=("id", "name", "amount"),
        rows=(("1", "a", "2.5"), ("2", "b", "3.5")),
    ),
    Pollution(
        "comment_lines_among_the_rows",
        "data.csv",
        "# exported by tool 1.2\na;b\n# a note between rows\n1;3\n2;4\n",
        columns=("a", "b"),
        rows=(("1", "3"), ("2", "4")),
    ),
    Pollution(
        "header_over_two_rows",
        "sales.csv",
        ",Sales,,Returns,\nid,q1,q2,q1,q2\n1,10,20,1,2\n2,11,21,3,4\n",
        columns=("id", "Sales q1", "Sales q2", "Returns q1", "Returns q2"),
        rows=(("1", "10", "20", "1", "2"), ("2", "11", "21", "3", "4")),
    ),
    Pollution(
        "header_over_two_rows_whose_second_would_read_as_data",
        "people.csv",
        "id,customer,customer\n,first,last\n1,ann,lee\n2,bob,ray\n3,cy,sun\n",
        columns=("id", "customer first", "customer last"),
        rows=(("1", "ann", "lee"), ("2", "bob", "ray"), ("3", "cy", "sun")),
    ),
    Pollution(
        "text_above_the_header",
        "report.csv",
        "Sales report\nGenerated by the shop\n\nid,name,amount\n1,a,2.5\n2,b,3.5\n3,c,4.5\n",
        columns=("id", "name", "amount"),
        rows=(("1", "a", "2.5"), ("2", "b", "3.5"), ("3", "c", "4.5")),
    ),
    Pollution(
        "spreadsheet_title_rows_above_a_header_over_two_rows",
        "export.csv",
        "Quarterly export,,,,\n,,,,\n,Sales,,Returns,\nid,q1,q2,q1,q2\n1,10,20,1,2\n2,11,21,3,4\n"
        ",,,,\n",  # an empty record: a row of nulls, as Spark reads it
        columns=("id", "Sales q1", "Sales q2", "Returns q1", "Returns q2"),
        rows=(
            ("1", "10", "20", "1", "2"),
            ("2", "11", "21", "3", "4"),
            (None, None, None, None, None),
        ),
    ),
    Pollution(
        "text_above_the_header_in_latin_1",
        "rapport.csv",
        "Rapport des ventes\nGénéré le 1er mai\nid,nom,montant\n1,é,2.5\n2,b,3.5\n3,c,4.5\n",
        encoding="latin-1",
        refused="in a file encoded ISO-8859-1: Spark skips lines only of UTF-8 files",
    ),
    Pollution(
        "several_tables_in_one_file",
        "tables.csv",
        "a,b\n1,2\n3,4\n\nx,y,z\n5,6,7\n8,9,10\n",
        columns=("a", "b"),
        rows=(("1", "2"), ("3", "4")),
        quarantined=3,  # the second table's lines, with the reason
        why="below the first table of a file holding several tables",
    ),
    Pollution(
        "several_tables_of_one_width",
        "tables.csv",
        "id,name\n1,a\n2,b\n\nid,name\n3,c\n\nkey,label\n7,x\n",
        columns=("id", "name"),
        rows=(("1", "a"), ("2", "b")),
        quarantined=4,
        why="below the first table of a file holding several tables",
    ),
    Pollution(
        "several_tables_with_no_blank_line_between",
        "tables.csv",
        "a,b\n1,2\n3,4\nx,y,z\n5,6,7\n8,9,10\n",
        refused="the file holds 2 tables one after another (2, 3 columns): split it",
    ),
    Pollution("blank_lines_only", "data.csv", "\n\n  \n", refused="blank lines only"),
)

LOG_CASES = (
    Pollution(
        "log4j_with_a_stack_trace_line",
        "app.log",
        _log4j_lines(),
        classification="log4j",
        columns=("timestamp", "pid", "level", "thread", "component", "message"),
        checked=("timestamp", "level", "component", "message"),
        rows=tuple(
            (
                f"2015-10-18 18:01:{i:02d}{f'.{i * 7:03d}'.rstrip('0').rstrip('.')}",
                "WARN" if i % 5 == 0 else "INFO",
                "org.apache.hadoop.mapreduce.v2.app.MRAppMaster",
                f"step {i}, done",
            )
            for i in range(20)
        ),
        quarantined=1,
        types=(("timestamp", "timestamp"), ("pid", "int")),
    ),
    Pollution(
        "windows_cbs_comma_in_the_timestamp",
        "CBS.log",
        "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1\n"
        "2016-09-28 04:30:31, Error                 CSI    Failed, [HRESULT = 0x800f0805]\n",
        classification="windows_cbs",
        columns=("timestamp", "level", "component", "message"),
        rows=(
            ("2016-09-28 04:30:30", "Info", "CBS", "Loaded Servicing Stack v6.1"),
            ("2016-09-28 04:30:31", "Error", "CSI", "Failed, [HRESULT = 0x800f0805]"),
        ),
        types=(("timestamp", "timestamp"),),
    ),
    Pollution(
        "apache_error",
        "error_log",
        "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/w2.properties\n"
        "[Sun Dec 04 04:47:45 2005] [error] mod_jk child workerEnv in error state 6\n",
        classification="apache_error",
        checked=("timestamp", "level", "message"),
        columns=("timestamp", "module", "level", "pid", "tid", "client", "message"),
        rows=(
            ("2005-12-04 04:47:44", "notice", "workerEnv.init() ok /etc/httpd/conf/w2.properties"),
            ("2005-12-04 04:47:45", "error", "mod_jk child workerEnv in error state 6"),
        ),
    ),
    Pollution(
        "healthapp_pipes",
        "health.log",
        "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579\n"
        "20171223-22:15:29:615|Step_LSC|30002312|onExtend:1514038530000 14 0 4\n",
        classification="healthapp",
        columns=("timestamp", "component", "pid", "message"),
        rows=(
            ("2017-12-23 22:15:29.606", "Step_LSC", "30002312", "onStandStepChanged 3579"),
            ("2017-12-23 22:15:29.615", "Step_LSC", "30002312", "onExtend:1514038530000 14 0 4"),
        ),
    ),
    Pollution(
        "syslog_without_a_year",
        "messages",
        "Jul  1 09:00:55 mac-01 kernel[0]: IOThunderboltSwitch<0>(0x0)::listenerCallback\n"
        "Jul  1 09:01:05 mac-01 com.apple.CDScheduler[43]: Thermal pressure state: 1\n",
        classification="syslog",
        columns=("timestamp", "logsource", "program", "pid", "message"),
        rows=(
            (
                "Jul  1 09:00:55",
                "mac-01",
                "kernel",
                "0",
                "IOThunderboltSwitch<0>(0x0)::listenerCallback",
            ),
            (
                "Jul  1 09:01:05",
                "mac-01",
                "com.apple.CDScheduler",
                "43",
                "Thermal pressure state: 1",
            ),
        ),
        types=(("timestamp", "string"),),
    ),
    Pollution(
        "hpc_epoch_seconds",
        "hpc.log",
        "134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State Change\n"
        "460241 node-130 action start 1083541117 1 clusterAddMember  (command 1902)\n",
        classification="hpc",
        checked=("log_id", "node", "timestamp", "message"),
        columns=("log_id", "node", "component", "state", "timestamp", "flag", "message"),
        rows=(
            ("134681", "node-246", "2004-02-26 14:12:22", "Component State Change"),
            ("460241", "node-130", "2004-05-02 23:38:37", "clusterAddMember  (command 1902)"),
        ),
        types=(("timestamp", "timestamp"), ("log_id", "bigint")),
    ),
)

CASES = CSV_CASES + LOG_CASES

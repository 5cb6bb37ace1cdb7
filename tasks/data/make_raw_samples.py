"""Write the binary sample documents of ``tasks/data/raw/``: a .docx (python-docx), a text-layer
.pdf (fpdf2 with the IPAex Gothic font embedded as a subset) and a Shift_JIS .txt.

The texts are fictional notices of みなと市 written for ragft. The Markdown and HTML samples are
edited by hand. Needs the ``dev`` extra and a Japanese TrueType font (Debian:
``apt-get install fonts-ipaexfont-gothic``; or pass ``--font``).

Example: ``python tasks/data/make_raw_samples.py``
"""

from __future__ import annotations

import argparse
from pathlib import Path

RAW = Path(__file__).resolve().parent / "raw"
FONT = "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"

BICYCLE_TITLE = "みなと市 駅前自転車駐車場 定期利用のご案内"
BICYCLE: list[tuple[str, list[str | list[list[str]]]]] = [
    ("対象の駐車場", [
        "市が管理する有料の自転車駐車場は、みなと駅東口、みなと駅西口、港南駅の3か所です。"
        "いずれも24時間利用できますが、管理員が常駐するのは午前6時から午後10時までです。",
    ]),
    ("定期利用料金", [
        [["区分", "1か月", "3か月", "6か月"],
         ["一般（自転車）", "2,000円", "5,700円", "10,800円"],
         ["学生（自転車）", "1,300円", "3,700円", "7,000円"],
         ["原動機付自転車（125cc以下）", "3,000円", "8,500円", "16,200円"]],
        "当日利用の料金は、自転車が1回150円、原動機付自転車が1回300円です。",
    ]),
    ("申込方法", [
        "定期利用の申込みは、各駐車場の管理事務所で受け付けます。申込書に記入し、利用料金を現金または"
        "キャッシュレス決済で支払ってください。学生料金を利用する場合は学生証が必要です。",
        "新規の申込みは毎月20日から受け付け、翌月1日から利用できます。空きがない場合はキャンセル待ちとなり、"
        "空きが出た順に電話で連絡します。",
    ]),
    ("更新と解約", [
        "更新は、有効期限の10日前から受け付けます。期限を過ぎると定期利用の資格がなくなりますのでご注意ください。",
        "解約する場合、1か月定期は払い戻しできません。3か月定期と6か月定期は、残りの期間が1か月以上あれば、"
        "未使用の月数分の料金から手数料500円を差し引いて払い戻します。",
    ]),
    ("放置自転車の撤去", [
        "駅周辺の自転車等放置禁止区域に置かれた自転車は、警告札を付けてから2時間を過ぎると撤去します。"
        "撤去した自転車は、みなと市自転車保管所（港南3丁目）で30日間保管します。引き取りには撤去保管料"
        "2,500円（原動機付自転車は5,000円）が必要です。期間内に引き取られなかった自転車は処分します。",
        "お問い合わせ：みなと市 都市整備部 交通政策課 電話 056-612-3820",
    ]),
]

CHECKUP_TITLE = "令和8年度 みなと市国民健康保険 特定健康診査のご案内"
CHECKUP_PAGES: list[list[tuple[str, str]]] = [
    [
        ("【対象となる方】", "みなと市国民健康保険に加入している方で、令和9年3月31日までに40歳から74歳になる方が"
         "対象です。ただし、妊娠中の方や、病院・診療所に6か月以上入院している方などは対象外です。"),
        ("【受診期間と費用】", "受診期間は令和8年6月1日から11月30日までです。自己負担額は500円ですが、70歳以上の方と"
         "市民税非課税世帯の方は無料です。受診券は5月下旬に対象の方へ郵送します。"),
        ("【受診方法】", "受診券に同封の「実施医療機関一覧」から医療機関を選び、電話で予約してください。当日は、"
         "受診券、国民健康保険の資格確認書またはマイナ保険証、問診票を持参してください。前日の夜9時以降は"
         "食事をとらず、水やお茶以外の飲み物も控えてください。"),
    ],
    [
        ("【検査の内容】", "基本的な検査は、問診、身体計測（身長・体重・腹囲）、血圧測定、血液検査（脂質・血糖・"
         "肝機能）、尿検査です。医師が必要と判断した場合は、心電図検査、眼底検査、貧血検査を追加で行います。"),
        ("【結果と特定保健指導】", "結果は受診から約1か月後に医療機関から説明を受けます。生活習慣病のリスクが高いと"
         "判定された方には、保健師や管理栄養士による特定保健指導の案内を送ります。特定保健指導の費用は無料です。"),
        ("【人間ドックの費用助成】", "特定健康診査の代わりに人間ドックを受ける方には、費用の一部（上限20,000円）を"
         "助成します。助成を受けるには、受診の2週間前までに保険年金課へ申請してください。特定健康診査と人間ドックの"
         "両方を同じ年度に受けることはできません。"),
        ("", "お問い合わせ：みなと市 保険年金課 健診担当 電話 056-612-5150"),
    ],
]

COLLECTION_TXT = """みなと市 資源物集団回収 奨励金のご案内

みなと市では、ごみの減量とリサイクルを進めるため、町内会、子ども会、PTAなどの団体が行う資源物の集団回収に奨励金を交付しています。

【対象となる団体】
市内で活動し、営利を目的としない10世帯以上の団体で、市に団体登録をしていることが条件です。団体登録は、活動を始める1か月前までに環境政策課へ届け出てください。

【対象となる資源物と奨励金の額】
新聞、雑誌、段ボール、紙パックなどの古紙と、古着などの布類は、1キログラムあたり4円です。アルミ缶は1キログラムあたり8円、びんは1本あたり2円です。ペットボトルとスチール缶は対象外です。

【申請の方法】
回収を行った月の翌月10日までに、回収業者が発行する計量伝票を添えて実績報告書を提出してください。奨励金は、4月から9月分を11月に、10月から3月分を翌年5月に、団体の口座へ振り込みます。1団体あたりの上限額は年間30万円です。

【回収業者について】
回収は、市に登録された回収業者に依頼してください。登録業者の一覧は、環境政策課の窓口と市のホームページで確認できます。

お問い合わせ：みなと市 環境部 環境政策課 電話 056-612-2230
"""


def write_docx(path: Path) -> None:
    import docx

    d = docx.Document()
    d.core_properties.title = BICYCLE_TITLE
    d.core_properties.author = "みなと市"
    d.add_heading(BICYCLE_TITLE, level=0)
    for heading, parts in BICYCLE:
        d.add_heading(heading, level=1)
        for part in parts:
            if isinstance(part, str):
                d.add_paragraph(part)
            else:
                table = d.add_table(rows=len(part), cols=len(part[0]))
                table.style = "Table Grid"
                for r, row in enumerate(part):
                    for c, cell in enumerate(row):
                        table.cell(r, c).text = cell
    d.save(str(path))


def write_pdf(path: Path, font: str) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(CHECKUP_TITLE)
    pdf.set_author("みなと市")
    pdf.set_creation_date(__import__("datetime").datetime(2026, 3, 1))
    pdf.add_font("ipaexg", fname=font)
    for n, page in enumerate(CHECKUP_PAGES):
        pdf.add_page()
        if n == 0:
            pdf.set_font("ipaexg", size=15)
            pdf.multi_cell(0, 10, CHECKUP_TITLE, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        for heading, body in page:
            if heading:
                pdf.set_font("ipaexg", size=12)
                pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("ipaexg", size=10.5)
            pdf.multi_cell(0, 6.5, body, new_x="LMARGIN", new_y="NEXT")  # wraps mid-sentence: the reader must join the lines again
            pdf.ln(3)
    pdf.output(str(path))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--font", default=FONT, help="a Japanese TrueType/OpenType font file to embed")
    args = ap.parse_args()
    RAW.mkdir(exist_ok=True)
    write_docx(RAW / "bicycle_parking.docx")
    write_pdf(RAW / "health_checkup.pdf", args.font)
    (RAW / "group_collection_sjis.txt").write_bytes(COLLECTION_TXT.encode("cp932"))
    for p in sorted(RAW.iterdir()):
        print(f"{p.name}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()

"""Chinese names for the demo city's streets, communities and facilities.

Street names are real where known (sub-districts 街道 in the towns, towns 镇 and
sumu 苏木 in the countryside) and plausible otherwise. Communities get names from
word pools: "XX社区" in towns, Mongolian "XX嘎查" or Han "XX村" in the countryside.
"""

from __future__ import annotations

import numpy as np

# Per district: (names of urban sub-districts, names of towns/sumu; the seat town first).
STREET_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "150602": (
        (
            "交通街道",
            "公园街道",
            "林荫街道",
            "建设街道",
            "富兴街道",
            "天骄街道",
            "诃额伦街道",
            "巴音门克街道",
            "兴胜街道",
            "纺织街道",
            "幸福街道",
            "民族街道",
        ),
        ("铜川镇", "泊尔江海子镇", "罕台镇"),
    ),
    "150603": (("哈巴格希街道", "青春山街道", "滨河街道", "康新街道", "康和街道"), ()),
    "150621": (
        ("工业街道",),
        (
            "树林召镇",
            "王爱召镇",
            "白泥井镇",
            "吉格斯太镇",
            "昭君镇",
            "恩格贝镇",
            "中和西镇",
            "风水梁镇",
            "展旦召苏木",
        ),
    ),
    "150622": (
        ("兴隆街道", "蓝天街道", "友谊街道", "迎泽街道"),
        (
            "薛家湾镇",
            "沙圪堵镇",
            "大路镇",
            "纳日松镇",
            "龙口镇",
            "准格尔召镇",
            "暖水乡",
            "十二连城乡",
            "布尔陶亥苏木",
        ),
    ),
    "150623": ((), ("敖勒召其镇", "上海庙镇", "城川镇", "昂素镇", "三段地镇")),
    "150624": (
        (),
        (
            "乌兰镇",
            "棋盘井镇",
            "蒙西镇",
            "木凯淖尔镇",
            "阿尔巴斯苏木",
            "苏米图苏木",
            "包乐浩晓苏木",
        ),
    ),
    "150625": (
        (),
        (
            "锡尼镇",
            "吉日嘎朗图镇",
            "独贵塔拉镇",
            "呼和木独镇",
            "巴拉贡镇",
            "伊和乌素苏木",
            "塔然高勒镇",
        ),
    ),
    "150626": (
        (),
        ("嘎鲁图镇", "乌审召镇", "图克镇", "乌兰陶勒盖镇", "无定河镇", "苏力德苏木", "黄陶勒盖镇"),
    ),
    "150627": (
        ("天骄街道",),
        (
            "阿勒腾席热镇",
            "乌兰木伦镇",
            "札萨克镇",
            "伊金霍洛镇",
            "红庆河镇",
            "纳林陶亥镇",
            "苏布尔嘎镇",
            "纳林希里镇",
        ),
    ),
}

_URBAN_WORDS = (
    "阳光 和谐 文明 康乐 安居 祥和 富康 朝阳 锦绣 金泰 馨园 嘉园 泰和 滨河 宏远 紫荆 铁西 东城 "
    "西城 南苑 北园 青年 团结 振兴 新华 民生 幸福 兴盛 丰园 绿苑 伊克昭 吉劳庆 宝日陶亥 聚福 "
    "永兴 福源 盛世 金辉 银河 星光 春晖 景泰 明珠 欣荣 松林 柳园 杏林 雅苑 颐和 安康 惠民 恒泰 "
    "华泰 万家 蒙欣 昌盛 东达 鸿博 碧水 云泽 瑞祥 吉祥 宁康 兴华 联丰 王府 文化 书香 丁香 芙蓉 "
    "牡丹 青松 天骄 乌兰 苏勒德 亿利 恩和 达拉 宝泰 鑫海 龙泉 凤凰 怡园 双拥 健康 光明"
).split()
_URBAN_PREFIXES = ("", "东", "西", "南", "北", "新")
_MONGOLIAN_FIRST = (
    "巴音 乌兰 查干 呼和 额尔敦 宝日 赛音 那仁 阿拉腾 图门 希日 哈日 巴彦 朝鲁 阿日 乌日图 毛尼 "
    "沙日 伊和 包日"
).split()
_MONGOLIAN_SECOND = (
    "陶勒盖 淖尔 布拉格 敖包 高勒 乌素 塔拉 希里 浩特 柴达木 套海 补隆 温都尔 哈达 锡勒 呼都格"
).split()
_SURNAMES = "王 李 张 刘 郝 杨 高 贺 白 苏 赵 郭 马 韩 乔 任 武 奇 田 孙".split()
_PLACES = "塔 湾 梁 渠 壕 圪旦 营子 卜子 沟 峁 坪 河畔 店 堡".split()

_SEAT_IS_A_TOWN = frozenset({"150621", "150622", "150623", "150624", "150625", "150626", "150627"})

# Share of rural communities that are pastoral 嘎查 rather than farming 村.
PASTORAL_SHARE: dict[str, float] = {
    "150602": 0.15,
    "150603": 0.3,
    "150621": 0.2,
    "150622": 0.15,
    "150623": 0.7,
    "150624": 0.65,
    "150625": 0.6,
    "150626": 0.6,
    "150627": 0.3,
}


def street_names(district_code: str, urban_ranks: np.ndarray) -> list[str]:
    """Names for the streets of a district.

    Parameters
    ----------
    district_code
        The district's 6-digit code.
    urban_ranks
        For each street, its rank from the most urban (0) to the most rural; the seat's
        street should rank 0.

    Returns
    -------
    list of str
        One unique name per street: sub-districts (街道) go to the most urban streets, towns
        and sumu to the rest; generated names fill in when the real ones run out.
    """
    count = len(urban_ranks)
    urban, rural = STREET_NAMES[district_code]
    share = len(urban) / max(1, len(urban) + len(rural))
    urban_count = min(len(urban), count, int(round(count * share)))
    if urban_count == 0 and not rural:
        urban_count = min(len(urban), count)
    rural_count = min(len(rural), count - urban_count)
    chosen_urban, chosen_rural = list(urban[:urban_count]), list(rural[:rural_count])
    if district_code in _SEAT_IS_A_TOWN and chosen_rural:
        # A banner's seat is a town (镇): it ranks before the banner's sub-districts.
        names = chosen_rural[:1] + chosen_urban + chosen_rural[1:]
    else:
        names = chosen_urban + chosen_rural
    extra = iter(f"{word}{suffix}" for suffix in ("街道", "镇") for word in _URBAN_WORDS)
    while len(names) < count:
        name = next(extra)
        if name not in names:
            names.append(name)
    return [names[rank] for rank in urban_ranks]


def _pool(kind: str, pastoral_share: float, rng: np.random.Generator) -> list[str]:
    """All candidate names of one kind of community, shuffled."""
    if kind == "urban":
        prefixed = [
            p + w for p in _URBAN_PREFIXES if p for w in _URBAN_WORDS if w[0] not in "东西南北"
        ]
        # Callers pop from the end: plain names first, "东/西/南/北/新" ones when those run out.
        plain = rng.permutation(_URBAN_WORDS).tolist()
        return [f"{w}社区" for w in rng.permutation(prefixed).tolist() + plain]
    gacha = [f"{a}{b}嘎查" for a in _MONGOLIAN_FIRST for b in _MONGOLIAN_SECOND]
    village = [f"{s}家{p}村" for s in _SURNAMES for p in _PLACES]
    gacha = rng.permutation(gacha).tolist()
    village = rng.permutation(village).tolist()
    names: list[str] = []
    while gacha or village:
        pick_gacha = bool(gacha) and (not village or rng.random() < pastoral_share)
        names.append((gacha if pick_gacha else village).pop())
    # Callers pop from the end: reverse so the mix is drawn first.
    return names[::-1]


def community_names(kinds: list[str], district_code: str, rng: np.random.Generator) -> list[str]:
    """Name the communities of one street, uniquely, given their kinds."""
    pastoral_share = PASTORAL_SHARE.get(district_code, 0.3)
    pools = {kind: _pool(kind, pastoral_share, rng) for kind in sorted(set(kinds))}
    used: set[str] = set()
    names: list[str] = []
    for kind in kinds:
        pool = pools[kind]
        while pool and pool[-1] in used:
            pool.pop()
        name = pool.pop() if pool else f"第{len(names) + 1}{'社区' if kind == 'urban' else '村'}"
        used.add(name)
        names.append(name)
    return names


def grid_name(community_name: str, grid_no: int) -> str:
    """Name a grid after its community and number, e.g. "阳光社区第3网格"."""
    return f"{community_name}第{grid_no}网格"

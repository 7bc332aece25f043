"""Plausible Chinese names for demo facilities, from where they stand."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_PARK_WORDS = (
    "人民 滨河 文化 体育 生态 湿地 森林 民族团结 青春 奋斗 和谐 市民 儿童 植物 月亮湖 乌兰木伦 "
    "太阳 蒙元文化 世纪 天骄 奥林匹克 诃额伦 成吉思汗 康体 健身 湖滨 翠园 迎宾 银河 丁香"
).split()
_PARK_SUFFIXES = ("公园", "广场", "游园", "文化广场", "口袋公园")
_SHOP_BRANDS = (
    "佳惠 万家福 鑫源 福满多 惠民 便民 金鼎 百姓 好又多 乐购 家家乐 天天鲜 益民 聚福 兴隆 "
    "丰盛 邻里 康乐 旺角 宏达 顺发 喜洋洋 草原 蒙欣 绿源"
).split()
_SHOP_SUFFIXES = ("超市", "便利店", "生鲜超市", "农贸市场", "菜市场", "商店", "购物中心")
_CLINIC_SURNAMES = "王 李 张 刘 郝 杨 高 贺 白 苏 赵 郭 马 韩 乔".split()
_DIGITS = "零一二三四五六七八九"


def chinese_number(number: int) -> str:
    """Write 1..99 in Chinese numerals, e.g. 12 -> "十二", 20 -> "二十"."""
    if not 1 <= number <= 99:
        return str(number)
    tens, ones = divmod(number, 10)
    text = ("" if tens == 1 else _DIGITS[tens]) + "十" if tens else ""
    return text + (_DIGITS[ones] if ones else "")


def _base(community_name: str) -> str:
    """Strip the 社区/嘎查/村 suffix from a community's name."""
    for suffix in ("社区", "嘎查", "村"):
        if community_name.endswith(suffix):
            return community_name[: -len(suffix)]
    return community_name


@dataclass
class Labels:
    """Names of the city's units, to name the facilities standing in them."""

    district_names: list[str]
    street_names: list[str]
    community_names: list[str]
    grid_names: list[str]
    street_district: np.ndarray
    community_street: np.ndarray
    grid_community: np.ndarray
    community_kinds: list[str]
    _counters: dict[tuple[str, int], int] = field(default_factory=dict)

    def institute(self, street: int) -> str:
        """E.g. "东胜区交通街道新时代文明实践所"."""
        district = self.district_names[int(self.street_district[street])]
        return f"{district}{self.street_names[street]}新时代文明实践所"

    def station(self, community: int) -> str:
        """E.g. "阳光社区新时代文明实践站"."""
        return f"{self.community_names[community]}新时代文明实践站"

    def _next(self, key: str, district: int) -> int:
        """Count on the numbered facilities (schools, libraries) of a district."""
        number = self._counters.get((key, district), 0) + 1
        self._counters[(key, district)] = number
        return number

    def facility(self, code: str, grid: int, rng: np.random.Generator) -> str:
        """Name a facility of type ``code`` standing in ``grid``."""
        community = int(self.grid_community[grid])
        street = int(self.community_street[community])
        district = int(self.street_district[street])
        where = {
            "grid": self.grid_names[grid],
            "community": self.community_names[community],
            "base": _base(self.community_names[community]),
            "street": self.street_names[street],
            "district": self.district_names[district],
            "urban": self.community_kinds[community] == "urban",
            "district_index": district,
        }
        return _NAMERS[code](self, where, rng)


def _practice_point(labels: Labels, where: dict, rng: np.random.Generator) -> str:
    return f"{where['grid']}新时代文明实践点"


def _volunteer_station(labels: Labels, where: dict, rng: np.random.Generator) -> str:
    return f"{where['community']}志愿服务站"


def _role_model_site(labels: Labels, where: dict, rng: np.random.Generator) -> str:
    kind = "道德模范" if rng.random() < 0.4 else "身边好人"
    return f"{where['community']}{kind}示范点"


def _park_square(labels: Labels, where: dict, rng: np.random.Generator) -> str:
    word = where["base"] if rng.random() < 0.5 else str(rng.choice(_PARK_WORDS))
    return f"{word}{rng.choice(_PARK_SUFFIXES)}"


def _culture_venue(labels: Labels, where: dict, rng: np.random.Generator) -> str:
    templates = (
        f"{where['street']}综合文化站",
        f"{where['community']}文化活动中心",
        f"{where['district']}文化馆",
        f"{where['district']}博物馆",
        f"{where['district']}美术馆",
        f"{where['base']}大剧院",
    )
    weights = np.array([0.35, 0.35, 0.08, 0.08, 0.07, 0.07])
    return templates[int(rng.choice(len(templates), p=weights))]


def _library(labels: Labels, where: dict, rng: np.random.Generator) -> str:
    number = labels._next("library", where["district_index"])
    if number == 1:
        return f"{where['district']}图书馆"
    if rng.random() < 0.5:
        return f"{where['street']}图书分馆"
    return f"{where['base']}城市书房"


def _shop_market(labels: Labels, where: dict, rng: np.random.Generator) -> str:
    word = where["base"] if rng.random() < 0.3 else str(rng.choice(_SHOP_BRANDS))
    return f"{word}{rng.choice(_SHOP_SUFFIXES)}"


def _clinic(labels: Labels, where: dict, rng: np.random.Generator) -> str:
    roll = rng.random()
    if roll < 0.2:
        return f"{rng.choice(_CLINIC_SURNAMES)}氏诊所"
    if roll < 0.3 and not where["urban"]:
        return f"{where['street']}卫生院"
    return f"{where['community']}{'卫生服务站' if where['urban'] else '卫生室'}"


def _school(labels: Labels, where: dict, rng: np.random.Generator) -> str:
    level = "小学" if rng.random() < 0.65 else "中学"
    if not where["urban"] and rng.random() < 0.6:
        return f"{where['street']}中心{level}"
    number = labels._next(level, where["district_index"])
    return f"{where['district']}第{chinese_number(number)}{level}"


_NAMERS = {
    "practice_point": _practice_point,
    "volunteer_station": _volunteer_station,
    "role_model_site": _role_model_site,
    "park_square": _park_square,
    "culture_venue": _culture_venue,
    "library": _library,
    "shop_market": _shop_market,
    "clinic": _clinic,
    "school": _school,
}

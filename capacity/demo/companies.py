"""Who the demo providers are: places, trade names, statuses, the demo organisations' own
machines, people's names and certificate issuers (see capacity.demo)."""

# ruff: noqa: C408, E501 — compact tables, one row per place or company
from decimal import Decimal

from capacity.models import ProviderProfile

# fmt: off
# key: (province, city code in regions.json, place in the legal name, pinyin, division code,
#       administrative prefix of the address, telephone area code, parks/towns)
LOCATIONS = {
    "kunshan": ("JS", "SZ", "昆山", "kunshan", "320583", "江苏省昆山市", "0512", ("开发区", "周市镇", "张浦镇")),
    "suzhou": ("JS", "SZ", "苏州", "suzhou", "320505", "江苏省苏州市", "0512", ("高新区", "工业园区")),
    "wuxi": ("JS", "WX", "无锡", "wuxi", "320214", "江苏省无锡市", "0510", ("新吴区", "锡山经济技术开发区")),
    "jiangyin": ("JS", "WX", "江阴", "jiangyin", "320281", "江苏省江阴市", "0510", ("临港经济开发区", "周庄镇")),
    "changzhou": ("JS", "CZ", "常州", "changzhou", "320412", "江苏省常州市", "0519", ("武进国家高新区", "武进经济开发区")),
    "nanjing": ("JS", "NJ", "南京", "nanjing", "320115", "江苏省南京市", "025", ("江宁经济技术开发区", "江宁滨江开发区")),
    "nantong": ("JS", "NT", "南通", "nantong", "320612", "江苏省南通市", "0513", ("通州经济开发区", "经济技术开发区")),
    "ningbo": ("ZJ", "NB", "宁波", "ningbo", "330206", "浙江省宁波市", "0574", ("北仑区大碶街道", "北仑区小港街道")),
    "yuyao": ("ZJ", "NB", "余姚", "yuyao", "330281", "浙江省余姚市", "0574", ("经济开发区", "低塘街道")),
    "cixi": ("ZJ", "NB", "慈溪", "cixi", "330282", "浙江省慈溪市", "0574", ("滨海经济开发区", "观海卫镇")),
    "huangyan": ("ZJ", "TZ", "台州", "taizhou", "331003", "浙江省台州市", "0576", ("黄岩区新前街道", "黄岩经济开发区")),
    "yuhuan": ("ZJ", "TZ", "玉环", "yuhuan", "331083", "浙江省玉环市", "0576", ("大麦屿街道", "珠港镇")),
    "yueqing": ("ZJ", "WZ", "乐清", "yueqing", "330382", "浙江省乐清市", "0577", ("柳市镇", "经济开发区")),
    "hangzhou": ("ZJ", "HZ", "杭州", "hangzhou", "330110", "浙江省杭州市", "0571", ("余杭经济技术开发区", "未来科技城")),
    "jiaxing": ("ZJ", "JX", "嘉兴", "jiaxing", "330402", "浙江省嘉兴市", "0573", ("南湖区大桥镇", "经济技术开发区")),
    "sz_baoan": ("GD", "SZ", "深圳", "shenzhen", "440306", "广东省深圳市", "0755", ("宝安区福永街道", "宝安区石岩街道")),
    "sz_longgang": ("GD", "SZ", "深圳", "shenzhen", "440307", "广东省深圳市", "0755", ("龙岗区坪地街道", "龙岗区宝龙街道")),
    "dongguan": ("GD", "DG", "东莞", "dongguan", "441900", "广东省东莞市", "0769", ("长安镇", "塘厦镇", "松山湖高新区")),
    "foshan": ("GD", "FS", "佛山", "foshan", "440606", "广东省佛山市", "0757", ("顺德区北滘镇", "顺德区容桂街道")),
    "guangzhou": ("GD", "GZ", "广州", "guangzhou", "440112", "广东省广州市", "020", ("黄埔区云埔工业区", "黄埔区永和街道")),
    "zhongshan": ("GD", "ZS", "中山", "zhongshan", "442000", "广东省中山市", "0760", ("火炬开发区", "小榄镇")),
    "huizhou": ("GD", "HZ", "惠州", "huizhou", "441302", "广东省惠州市", "0752", ("仲恺高新区", "惠城区水口街道")),
    "sh_jiading": ("SH", "JD", "上海", "shanghai", "310114", "上海市", "021", ("嘉定区安亭镇", "嘉定区马陆镇")),
    "sh_songjiang": ("SH", "SJ", "上海", "shanghai", "310117", "上海市", "021", ("松江区九亭镇", "松江工业区")),
    "sh_minhang": ("SH", "MH", "上海", "shanghai", "310112", "上海市", "021", ("闵行区莘庄工业区", "闵行区浦江镇")),
    "sh_pudong": ("SH", "PD", "上海", "shanghai", "310115", "上海市", "021", ("浦东新区张江镇", "浦东新区康桥镇")),
    "sh_baoshan": ("SH", "BS", "上海", "shanghai", "310113", "上海市", "021", ("宝山区顾村镇", "宝山区罗店镇")),
    "qingdao": ("SD", "QD", "青岛", "qingdao", "370211", "山东省青岛市", "0532", ("黄岛区", "西海岸新区")),
    "jinan": ("SD", "JN", "济南", "jinan", "370112", "山东省济南市", "0531", ("历城区", "高新区")),
    "yantai": ("SD", "YT", "烟台", "yantai", "370613", "山东省烟台市", "0535", ("莱山区", "经济技术开发区")),
    "weifang": ("SD", "WF", "潍坊", "weifang", "370705", "山东省潍坊市", "0536", ("奎文区", "高新区")),
    "wuhan": ("HB", "WH", "武汉", "wuhan", "420113", "湖北省武汉市", "027", ("经济技术开发区", "沌口街道")),
    "shiyan": ("HB", "SY", "十堰", "shiyan", "420303", "湖北省十堰市", "0719", ("张湾区", "经济技术开发区")),
    "xiangyang": ("HB", "XY", "襄阳", "xiangyang", "420606", "湖北省襄阳市", "0710", ("樊城区", "高新区")),
    "chengdu": ("SC", "CD", "成都", "chengdu", "510116", "四川省成都市", "028", ("双流区西航港街道", "双流区九江街道")),
    "deyang": ("SC", "DY", "德阳", "deyang", "510603", "四川省德阳市", "0838", ("旌阳区", "经济技术开发区")),
    "mianyang": ("SC", "MY", "绵阳", "mianyang", "510703", "四川省绵阳市", "0816", ("涪城区", "高新区")),
    "cq_yubei": ("CQ", "YB", "重庆", "chongqing", "500112", "重庆市", "023", ("渝北区回兴街道", "两江新区")),
    "cq_jiulongpo": ("CQ", "JLP", "重庆", "chongqing", "500107", "重庆市", "023", ("九龙坡区西彭镇", "九龙坡区含谷镇")),
    "cq_jiangjin": ("CQ", "JJ", "重庆", "chongqing", "500116", "重庆市", "023", ("江津区双福街道", "江津区德感街道")),
    "shenyang": ("LN", "SY", "沈阳", "shenyang", "210106", "辽宁省沈阳市", "024", ("铁西区", "经济技术开发区")),
    "dalian": ("LN", "DL", "大连", "dalian", "210213", "辽宁省大连市", "0411", ("金州区", "金普新区")),
    "tj_binhai": ("TJ", "BH", "天津", "tianjin", "120116", "天津市", "022", ("滨海新区经济技术开发区", "滨海高新区")),
    "tj_xiqing": ("TJ", "XQ", "天津", "tianjin", "120111", "天津市", "022", ("西青经济技术开发区", "西青区张家窝镇")),
    "xiamen": ("FJ", "XM", "厦门", "xiamen", "350211", "福建省厦门市", "0592", ("集美区", "火炬高新区")),
    "jinjiang": ("FJ", "QZ", "晋江", "jinjiang", "350582", "福建省晋江市", "0595", ("陈埭镇", "经济开发区")),
    "hefei": ("AH", "HF", "合肥", "hefei", "340111", "安徽省合肥市", "0551", ("包河经济开发区", "经济技术开发区")),
    "wuhu": ("AH", "WH", "芜湖", "wuhu", "340207", "安徽省芜湖市", "0553", ("鸠江经济开发区", "经济技术开发区")),
    "changsha": ("HN", "CS", "长沙", "changsha", "430121", "湖南省长沙市", "0731", ("长沙县星沙街道", "经济技术开发区")),
    "zhuzhou": ("HN", "ZZ", "株洲", "zhuzhou", "430211", "湖南省株洲市", "0731", ("天元区", "董家塅高科园")),
    "botou": ("HE", "CZ", "泊头", "botou", "130981", "河北省泊头市", "0317", ("经济开发区", "交河镇")),
    "baoding": ("HE", "BD", "保定", "baoding", "130602", "河北省保定市", "0312", ("竞秀区", "高新区")),
    "xian": ("SN", "XA", "西安", "xian", "610116", "陕西省西安市", "029", ("长安区", "高新区")),
}

# (location, archetype, trade name, its pinyin, status, currency, foreign-invested)
GENERATED = [
    ("kunshan", "cnc", "宏晟", "hongsheng"),
    ("kunshan", "mould", "恒锐", "hengrui"),
    ("suzhou", "lab", "精诚", "jingcheng"),
    ("wuxi", "heat", "锐创", "ruichuang"),
    ("jiangyin", "casting", "华钜", "huaju"),
    ("changzhou", "sheet", "博瑞", "borui"),
    ("nanjing", "metrology", "瑞鼎", "ruiding"),
    ("nantong", "sheet", "鑫泰", "xintai"),
    ("ningbo", "casting", "金泓", "jinhong"),
    ("yuyao", "mould", "凯润", "kairun"),
    ("cixi", "cnc", "永固", "yonggu"),
    ("huangyan", "mould", "三禾", "sanhe"),
    ("yuhuan", "auto", "昊天", "haotian"),
    ("yueqing", "ems", "德润", "derun"),
    ("hangzhou", "metrology", "裕丰", "yufeng"),
    ("jiaxing", "sheet", "恒通", "hengtong"),
    ("sz_baoan", "cnc", "东昇", "dongsheng"),
    ("sz_longgang", "ems", "泰富", "taifu"),
    ("sz_baoan", "reliability", "嘉力", "jiali"),
    ("dongguan", "cnc", "科瑞", "kerui"),
    ("dongguan", "mould", "信达", "xinda"),
    ("dongguan", "surface", "中拓", "zhongtuo"),
    ("foshan", "casting", "天正", "tianzheng"),
    ("guangzhou", "auto", "普锐", "purui"),
    ("zhongshan", "additive", "新锦", "xinjin"),
    ("huizhou", "ems", "合盛", "hesheng"),
    ("sh_jiading", "auto", "利君", "lijun"),
    ("sh_songjiang", "additive", "亿通", "yitong"),
    ("sh_minhang", "metrology", "荣泰", "rongtai"),
    ("sh_pudong", "emc", "华锐", "huarui"),
    ("sh_baoshan", "heat", "铭宇", "mingyu"),
    ("qingdao", "casting", "久盛", "jiusheng"),
    ("jinan", "lab", "同创", "tongchuang"),
    ("yantai", "auto", "骏驰", "junchi"),
    ("weifang", "heat", "海瑞", "hairui"),
    ("wuhan", "auto", "恒昌", "hengchang"),
    ("shiyan", "auto", "品诚", "pincheng"),
    ("xiangyang", "heat", "立达", "lida"),
    ("chengdu", "aero", "正昌", "zhengchang"),
    ("deyang", "heavy", "兴宇", "xingyu"),
    ("mianyang", "ems", "众联", "zhonglian"),
    ("cq_yubei", "auto", "汇鑫", "huixin"),
    ("cq_jiulongpo", "reliability", "元丰", "yuanfeng"),
    ("cq_jiangjin", "casting", "天锐", "tianrui"),
    ("shenyang", "aero", "和信", "hexin"),
    ("dalian", "heavy", "誉辰", "yuchen"),
    ("tj_binhai", "auto", "卓越", "zhuoyue"),
    ("tj_xiqing", "metrology", "佳讯", "jiaxun"),
    ("xiamen", "ems", "启航", "qihang"),
    ("jinjiang", "mould", "聚鼎", "juding"),
    ("hefei", "reliability", "远航", "yuanhang"),
    ("wuhu", "auto", "宏图", "hongtu"),
    ("changsha", "heavy", "锦程", "jincheng"),
    ("zhuzhou", "aero", "泓博", "hongbo"),
    ("botou", "casting", "精研", "jingyan"),
    ("xian", "aero", "盛邦", "shengbang"),
    ("baoding", "sheet", "安拓", "antuo"),
    ("sz_longgang", "lab", "中准", "zhongzhun"),
    ("changzhou", "cnc", "英诺", "yingnuo"),
    ("dongguan", "mould", "诺丰", "nuofeng"),
]
# Providers that are not (or no longer) verified: their resources exist but buyers never see them.
NOT_VERIFIED = {
    "yueqing-derun": ProviderProfile.Status.PENDING,
    "xiangyang-lida": ProviderProfile.Status.PENDING,
    "botou-jingyan": ProviderProfile.Status.PENDING,
    "baoding-antuo": ProviderProfile.Status.REJECTED,
    "chongqing-tianrui": ProviderProfile.Status.SUSPENDED,
}
STATUS_REASONS = {
    ProviderProfile.Status.REJECTED: "营业执照照片模糊，且统一社会信用代码与执照不一致，请重新上传清晰的营业执照。",
    ProviderProfile.Status.SUSPENDED: "近三个月多笔订单延期交付且未按时上传检验报告，暂停接单，整改后可申请恢复。",
}
# Verified providers whose ISO 9001 certificate lapsed recently (renewal audit pending).
EXPIRED_ISO9001 = {"cixi-yonggu", "weifang-hairui"}
# Foreign-invested companies quote in their home currency and name themselves "X（City）有限公司".
FOREIGN = {"changzhou-yingnuo": "EUR", "dongguan-nuofeng": "USD"}
EXCHANGE = {"CNY": Decimal("1"), "EUR": Decimal("7.8"), "USD": Decimal("7.2")}

# The demo organisations of marketplace.demo that list capacity.
DEMO_PROVIDERS = {
    "suzhou-jinggong": dict(
        location="suzhou",
        archetype="cnc",
        legal_name="苏州精工数控有限公司",
        certs=("ISO9001", "IATF16949"),
        machines=(
            "dmu50", "variaxis_i700", "haas_vf2", "haas_vf2", "robodrill", "jdgr200", "qt250my",
            "citizen_l20", "sodick_aln600", "zeiss_contura",
        ),
    ),
    "dongguan-hongda": dict(
        location="dongguan",
        archetype="mould",
        legal_name="东莞鸿达模塑科技有限公司",
        certs=("ISO9001", "IATF16949", "ISO13485", "ISO14001"),
        machines=(
            "haitian_ma2500", "haitian_ma2500", "haitian_ma1600", "haitian_ju4500", "engel_emac180",
            "arburg_470a", "engel_victory_lsr", "makino_v33i", "sodick_ag60l",
        ),
    ),
    "shenzhen-zhengce": dict(
        location="sz_baoan",
        archetype="lab",
        legal_name="深圳正测检测技术有限公司",
        certs=("ISO17025", "ISO9001"),
        machines=(
            "instron_5985", "shimadzu_agx", "zwick_rkp450", "espec_pl3kph", "weiss_wk3_340", "espec_tsa73",
            "qfog_ssp1100", "sushi_dc3200", "rs_3m_chamber", "teseq_nsg437", "shimadzu_edx7000",
            "spectromaxx", "zeiss_metrotom", "ul94_tester",
        ),
    ),
    "ningbo-jiliang": dict(
        location="ningbo",
        archetype="metrology",
        legal_name="宁波衡准计量校准有限公司",
        certs=("ISO17025",),
        machines=(
            "zeiss_contura", "hexagon_global", "tesa_upc", "caliper_bench", "talyrond365", "marsurf_xr20",
            "gtm_force", "norbar_ttt", "fluke_6270a", "fluke_9173", "fluke_5522a", "kaye_valprobe",
        ),
    ),
    "wuxi-tongda": dict(
        location="wuxi",
        archetype="auto",
        legal_name="无锡通达精密机械有限公司",
        certs=("ISO9001", "IATF16949"),
        machines=("clx450", "lb3000", "qt250my", "studer_s33", "mks1632", "aichelin_ipf", "induction_gck"),
    ),
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁沈任姚卢"
GIVEN = [
    "建华", "志强", "海峰", "晓东", "丽娟", "国平", "伟", "静", "敏", "俊杰", "秀英", "明", "磊", "洋", "艳",
    "勇", "军", "杰", "娟", "涛", "斌", "超", "霞", "平", "刚", "桂英", "文博", "子涵", "浩然", "雪梅",
    "立新", "永强", "红梅", "德明", "春燕", "宏伟", "建国", "玉兰", "振华", "嘉怡",
]
ROADS = ["创业路", "兴业路", "工业大道", "科技路", "振兴路", "长江路", "黄河路", "富民路", "汇金路", "精工路", "永安路", "发展大道"]

ISO9001_ISSUERS = [
    ("中国质量认证中心（CQC）", "cqc"),
    ("SGS 通标标准技术服务有限公司", "sgs"),
    ("必维认证（北京）有限公司", "bv"),
    ("TÜV 南德意志集团", "tuv"),
    ("方圆标志认证集团有限公司", "cqm"),
]
IATF_ISSUERS = ["TÜV 莱茵", "SGS 通标标准技术服务有限公司", "BSI 英国标准协会", "DNV 挪威船级社"]
AS9100_ISSUERS = ["BSI 英国标准协会", "必维认证（北京）有限公司", "SGS 通标标准技术服务有限公司"]
CNAS = "中国合格评定国家认可委员会（CNAS）"

MAINTENANCE_NOTES = ["主轴保养", "年度预防性维护", "设备检修", "导轨与丝杠保养", "年度计量校准", "控制系统升级"]
# fmt: on

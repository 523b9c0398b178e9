"""Bilingual (zh/en) vocabulary and vectorised text composition for the marketplace simulator.

Everything here works on whole arrays at once: a "phrase index" array selects rows of a
`Lexicon`, and numpy's string ufuncs glue the pieces together. The simulator in
`synthetic.py` decides *what* is said (which item, which aspect, which polarity);
this module decides *how* it is worded, in Chinese and in English.

Vocabulary entries are written compactly as "中文=English|中文=English"; an entry
without "=" is the same in both languages (sizes, units, model numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STR = np.dtypes.StringDType()


def _pairs(spec: str) -> list[tuple[str, str]]:
    out = []
    for entry in spec.split("|") if spec else []:
        zh, _, en = entry.partition("=")
        out.append((zh, en or zh))
    return out


def _title_case(text: str) -> str:
    # str.title() would turn "chef's" into "Chef'S"; only the first letter of each word changes.
    return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))


# --------------------------------------------------------------------------- review aspects
# key: (zh name, en name, positive phrases, negative phrases); 3 variants each so that
# aspect extraction has to generalise beyond one fixed wording.
ASPECTS: dict[str, tuple[str, str, str, str]] = {
    "quality": ("质量", "quality",
                "质量很好=great quality|做工扎实，用料足=well made and solid|品质超出预期=quality beyond expectations",
                "质量太差了=poor quality|用了几天就坏了=broke after a few days|做工粗糙=rough, cheap build"),
    "price": ("价格", "price",
              "性价比很高=great value for money|价格实惠=affordable price|这个价格很值=worth every penny",
              "价格偏贵=a bit overpriced|性价比不高=poor value for money|太贵了不值这个价=not worth the price"),
    "shipping": ("物流", "shipping",
                 "物流很快=fast shipping|第二天就到了=arrived the next day|快递很给力=quick delivery",
                 "物流太慢了=slow shipping|快递一个星期才到=arrived late|发货拖了好几天=took days to ship"),
    "packaging": ("包装", "packaging",
                  "包装很严实=well packaged|包装精美=beautiful packaging|包装完好无损=packaging arrived intact",
                  "包装破损=damaged packaging|包装太简陋=flimsy packaging|盒子都压坏了=box arrived crushed"),
    "service": ("客服", "service",
                "客服态度很好=friendly customer service|客服回复很及时=seller replied quickly|售后很贴心=great after-sales support",
                "客服态度差=rude customer service|客服一直不回消息=seller never replied|售后推来推去=useless after-sales support"),
    "size": ("尺码", "size",
             "尺码标准=true to size|大小合适=fits perfectly|码数很准=sizing is accurate",
             "尺码偏小=runs small|尺码偏大=runs large|码数不准，要换货=wrong size, had to exchange"),
    "fabric": ("面料", "fabric",
               "面料很舒服=comfortable fabric|布料柔软透气=soft, breathable material|面料很有质感=fabric feels premium",
               "面料起球=fabric pills|布料很薄=material is thin|面料有异味=fabric smells odd"),
    "battery": ("电池", "battery",
                "电池续航很长=long battery life|续航给力，一天一充=battery lasts all day|电池很耐用=battery holds up well",
                "电池不耐用=battery does not last|续航太短=short battery life|掉电特别快=battery drains fast"),
    "sound": ("音质", "sound",
              "音质清晰=clear sound|低音很足=punchy bass|音质很棒=excellent audio",
              "音质一般=mediocre sound|有杂音=crackling noise|声音发闷=muffled sound"),
    "screen": ("屏幕", "screen",
               "屏幕清晰=sharp screen|屏幕亮度高=bright display|显示效果很好=great display",
               "屏幕有坏点=dead pixels on the screen|屏幕偏暗=dim screen|屏幕容易刮花=screen scratches easily"),
    "noise": ("噪音", "noise",
              "噪音很小=very quiet|运行很安静=runs quietly|声音不大，不吵=low noise",
              "噪音太大=too noisy|运行起来很吵=loud when running|噪音大得受不了=unbearably loud"),
    "effect": ("效果", "effect",
               "效果明显=visible results|用完皮肤水润=skin feels hydrated|吸收很快，不油腻=absorbs fast, not greasy",
               "没什么效果=no visible effect|用了过敏=caused a rash|太油腻了=too greasy"),
    "scent": ("气味", "scent",
              "味道很好闻=smells lovely|香味淡雅=subtle scent|留香持久=long-lasting scent",
              "气味刺鼻=harsh smell|香味太浓=scent too strong|不留香=scent fades fast"),
    "taste": ("口味", "taste",
              "味道很好=tastes great|很好吃=delicious|口感酥脆=nice and crunchy",
              "味道一般=bland taste|太甜了=way too sweet|不好吃=tastes bad"),
    "freshness": ("新鲜度", "freshness",
                  "很新鲜=very fresh|日期很新=recent production date|新鲜多汁=fresh and juicy",
                  "不新鲜=not fresh|快过期了=close to expiry|有几个坏了=some were spoiled"),
    "safety": ("安全", "safety",
               "材质安全=safe materials|没有异味，宝宝用着放心=no odor, safe for baby|无毒环保=non-toxic",
               "有刺鼻异味=strong chemical smell|边角锋利=sharp edges|担心不安全=worried it is unsafe"),
    "palatability": ("适口性", "palatability",
                     "毛孩子很爱吃=my pet loves it|吃得很香=eats it eagerly|挑食的也爱吃=even picky eaters like it",
                     "毛孩子不爱吃=my pet refuses it|闻了就走=won't touch it|吃了拉肚子=upset my pet's stomach"),
    "odor": ("除臭", "odor control",
             "除臭效果好=controls odor well|没有异味=no smell at all|结团很快=clumps quickly",
             "除臭效果差=poor odor control|粉尘很大=very dusty|结团不好=does not clump"),
    "content": ("内容", "content",
                "内容很精彩=great content|内容很实用=very practical content|故事引人入胜=gripping story",
                "内容空洞=shallow content|内容过时了=outdated content|故事很拖沓=story drags on"),
    "printing": ("印刷", "printing",
                 "印刷清晰=crisp printing|纸张很好=good paper|排版舒服=nice layout",
                 "印刷模糊=blurry printing|有错别字=full of typos|纸张太薄=paper is too thin"),
}
ASPECT_KEYS = tuple(ASPECTS)

# --------------------------------------------------------------------------- category tree
# top category: (en, review aspects, mean price elasticity, yearly season amplitude,
#                day of year of the seasonal peak, product features for descriptions)
TOPS: dict[str, tuple[str, str, float, float, int, str]] = {
    "美妆": ("Beauty", "quality effect price shipping packaging", -1.8, 0.10, 330,
           "温和不刺激=gentle and non-irritating|持久保湿=long-lasting hydration|质地轻薄=a lightweight texture|"
           "天然植物成分=natural botanical ingredients|适合敏感肌=suitable for sensitive skin|快速吸收=fast absorption|"
           "不含酒精=alcohol free|提亮肤色=a brighter skin tone"),
    "数码": ("Electronics", "quality price shipping packaging service", -2.2, 0.15, 315,
           "轻薄便携=a slim portable body|支持快充=fast charging|连接稳定=a stable connection|低延迟=low latency|"
           "超长待机=long standby time|智能降噪=smart noise cancelling|兼容多种设备=support for many devices|"
           "一年质保=a one-year warranty"),
    "服饰": ("Apparel", "quality size fabric price shipping service", -2.0, 0.25, 280,
           "纯棉面料=pure cotton fabric|修身版型=a slim cut|宽松百搭=a relaxed easy-to-match fit|透气舒适=breathable comfort|"
           "不易起皱=wrinkle resistance|简约设计=a minimalist design|四季可穿=wear in every season|加厚保暖=extra warmth"),
    "家居": ("Home", "quality price shipping packaging service", -1.4, 0.10, 60,
           "加厚材质=thickened material|易清洗=easy cleaning|耐用不变形=durable shape|食品级材料=food-grade materials|"
           "节省空间=space saving|北欧风格=Nordic styling|环保无异味=eco-friendly odor-free materials|防滑设计=a non-slip design"),
    "食品": ("Food", "taste freshness price shipping packaging", -0.8, 0.20, 20,
           "独立小包装=individual packs|无添加蔗糖=no added sugar|产地直发=direct shipping from the origin|酥脆可口=a crispy bite|"
           "营养健康=wholesome nutrition|低脂低卡=low fat and calories|当季新鲜=seasonal freshness|老少皆宜=appeal for all ages"),
    "运动": ("Sports", "quality price shipping service", -1.6, 0.35, 180,
           "防滑耐磨=non-slip wear resistance|轻量化设计=a lightweight build|专业级品质=professional-grade quality|"
           "防水防潮=water resistance|"
           "高弹回弹=high rebound|便携收纳=easy carrying and storage|人体工学设计=an ergonomic design|加厚防护=extra padding"),
    "母婴": ("Baby", "quality safety price shipping packaging", -0.7, 0.05, 150,
           "安全无毒=safe non-toxic materials|柔软亲肤=softness on skin|超薄透气=an ultra-thin breathable layer|"
           "益智启蒙=early learning|"
           "易冲调=easy mixing|防漏设计=a leak-proof design|母婴级材质=baby-grade materials|大包装=a family-size pack"),
    "家电": ("Appliances", "quality noise price shipping service", -1.5, 0.10, 170,
           "一键操作=one-touch operation|节能省电=energy saving|智能预约=smart scheduling|大容量设计=a large capacity|"
           "易拆洗=easy disassembly and cleaning|小巧不占地=a compact footprint|多档调节=multiple settings|"
           "全国联保=a nationwide warranty"),
    "宠物": ("Pets", "quality price shipping packaging", -1.0, 0.05, 90,
           "天然配方=a natural recipe|高蛋白=high protein|无谷配方=a grain-free formula|除臭抑菌=odor control|"
           "低粉尘=low dust|营养均衡=balanced nutrition|适合多猫家庭=multi-pet households|兽医推荐=vet recommendation"),
    "图书": ("Books", "content printing price shipping packaging", -1.2, 0.15, 245,
           "畅销经典=a bestselling classic|全彩插图=full-colour illustrations|名家译本=an acclaimed translation|"
           "精装典藏=a hardcover edition|"
           "附赠音频=free audio|通俗易懂=plain language|案例丰富=many worked examples|新版修订=a revised edition"),
}

# (top, sub, leaf, product nouns (synonyms), modifiers, specs, typical price in CNY, extra aspects, has colours)
_LEAVES: tuple[tuple[str, str, str, str, str, str, float, str, bool], ...] = (
    ("美妆", "护肤=Skincare", "面霜=Face Cream", "面霜=face cream|保湿霜=moisturizer|乳霜=cream",
     "保湿=Hydrating|补水=Moisturizing|修护=Repairing|抗皱=Anti-Wrinkle|美白=Brightening|滋润=Nourishing",
     "50ml|30g|100ml", 180, "scent", False),
    ("美妆", "护肤=Skincare", "精华=Serum", "精华液=serum|精华=essence|原液=ampoule",
     "玻尿酸=Hyaluronic Acid|烟酰胺=Niacinamide|抗老=Anti-Aging|紧致=Firming|焕亮=Radiance", "30ml|50ml|15ml", 260, "", False),
    ("美妆", "护肤=Skincare", "面膜=Face Mask", "面膜=face mask|贴片面膜=sheet mask|睡眠面膜=sleeping mask",
     "补水=Hydrating|清洁=Purifying|舒缓=Soothing|提亮=Brightening|泥膜=Clay",
     "10片=10 Sheets|5片=5 Sheets|100g", 80, "scent", False),
    ("美妆", "护肤=Skincare", "洁面=Cleanser", "洗面奶=facial cleanser|洁面乳=face wash|洁面泡沫=foaming cleanser",
     "氨基酸=Amino Acid|控油=Oil Control|温和=Gentle|深层清洁=Deep Cleansing", "100g|120ml|150ml", 70, "", False),
    ("美妆", "彩妆=Makeup", "口红=Lipstick", "口红=lipstick|唇釉=lip glaze|唇膏=lip stick",
     "哑光=Matte|滋润=Moisturizing|显白=Flattering|持妆=Long-Wear|丝绒=Velvet", "3.5g|#999|#316", 150, "", False),
    ("美妆", "彩妆=Makeup", "粉底=Foundation", "粉底液=liquid foundation|粉底=foundation|气垫=cushion compact",
     "遮瑕=Full-Coverage|持妆=Long-Lasting|控油=Oil-Control|水润=Dewy|轻薄=Lightweight", "30ml|15g", 220, "", False),
    ("美妆", "彩妆=Makeup", "眼影=Eyeshadow", "眼影盘=eyeshadow palette|眼影=eyeshadow",
     "大地色=Earth-Tone|珠光=Shimmer|哑光=Matte|九色=9-Color", "12g|9色=9 Shades", 130, "", False),
    ("美妆", "香水=Fragrance", "香水=Perfume", "香水=perfume|淡香水=eau de toilette|香氛=fragrance",
     "花香=Floral|木质=Woody|清新=Fresh|柑橘=Citrus|持久=Long-Lasting", "50ml|100ml|30ml", 400, "scent", False),
    ("数码", "手机=Phones", "智能手机=Smartphone", "手机=phone|智能手机=smartphone|5G手机=5G phone",
     "旗舰=Flagship|拍照=Camera|轻薄=Slim|全面屏=Full-Screen|游戏=Gaming", "128GB|256GB|512GB", 3000, "battery screen", True),
    ("数码", "手机=Phones", "手机壳=Phone Case", "手机壳=phone case|保护壳=protective case|手机套=phone cover",
     "防摔=Shockproof|透明=Clear|硅胶=Silicone|磁吸=Magnetic|超薄=Ultra-Thin", "", 39, "", True),
    ("数码", "手机=Phones", "充电器=Charger", "充电器=charger|充电头=charging adapter|快充头=fast charger",
     "快充=Fast-Charging|氮化镓=GaN|多口=Multi-Port|折叠=Foldable", "65W|30W|100W", 120, "", False),
    ("数码", "手机=Phones", "充电宝=Power Bank", "充电宝=power bank|移动电源=portable charger",
     "大容量=High-Capacity|快充=Fast-Charging|迷你=Mini|磁吸=Magnetic", "10000mAh|20000mAh", 130, "battery", True),
    ("数码", "音频=Audio", "蓝牙耳机=Earbuds", "蓝牙耳机=wireless earbuds|无线耳机=bluetooth earphones|耳机=earbuds",
     "降噪=Noise-Cancelling|运动=Sports|入耳式=In-Ear|半入耳=Semi-In-Ear|低延迟=Low-Latency", "", 300, "battery sound", True),
    ("数码", "音频=Audio", "头戴耳机=Headphones", "头戴式耳机=over-ear headphones|耳机=headphones|耳麦=headset",
     "降噪=Noise-Cancelling|游戏=Gaming|折叠=Foldable|HiFi|无线=Wireless", "", 500, "sound battery", True),
    ("数码", "音频=Audio", "音箱=Speaker", "蓝牙音箱=bluetooth speaker|音箱=speaker|音响=sound system",
     "便携=Portable|防水=Waterproof|重低音=Deep-Bass|户外=Outdoor|智能=Smart", "", 250, "sound battery", True),
    ("数码", "电脑=Computers", "笔记本电脑=Laptop", "笔记本电脑=laptop|笔记本=notebook computer|轻薄本=ultrabook",
     "轻薄=Thin-and-Light|游戏=Gaming|办公=Business|高性能=High-Performance|14英寸=14-inch",
     "16GB+512GB|32GB+1TB|8GB+256GB", 5500, "battery screen", True),
    ("数码", "电脑=Computers", "键盘=Keyboard", "机械键盘=mechanical keyboard|键盘=keyboard|无线键盘=wireless keyboard",
     "机械=Mechanical|静音=Silent|RGB|三模=Tri-Mode|青轴=Blue-Switch", "87键=87 Keys|104键=104 Keys", 260, "", True),
    ("数码", "电脑=Computers", "鼠标=Mouse", "鼠标=mouse|无线鼠标=wireless mouse|游戏鼠标=gaming mouse",
     "静音=Silent|人体工学=Ergonomic|电竞=Esports|轻量=Lightweight|蓝牙=Bluetooth", "", 99, "battery", True),
    ("数码", "穿戴=Wearables", "智能手表=Smartwatch", "智能手表=smartwatch|手表=watch|运动手表=sports watch",
     "心率=Heart-Rate|血氧=SpO2|GPS|防水=Waterproof|长续航=Long-Battery", "42mm|46mm", 1200, "battery screen", True),
    ("数码", "穿戴=Wearables", "手环=Fitness Band", "运动手环=fitness band|智能手环=smart band|手环=fitness tracker",
     "睡眠监测=Sleep-Tracking|心率=Heart-Rate|防水=Waterproof|彩屏=Color-Screen", "", 200, "battery", True),
    ("服饰", "女装=Womenswear", "连衣裙=Dress", "连衣裙=dress|长裙=maxi dress|碎花裙=floral dress",
     "法式=French-Style|雪纺=Chiffon|收腰=Fitted-Waist|复古=Vintage|气质=Elegant", "S|M|L|XL", 220, "", True),
    ("服饰", "女装=Womenswear", "衬衫=Blouse", "衬衫=blouse|女士衬衫=women's shirt|雪纺衫=chiffon top",
     "职业=Office|宽松=Loose|真丝=Silk|条纹=Striped|长袖=Long-Sleeve", "S|M|L", 150, "", True),
    ("服饰", "女装=Womenswear", "毛衣=Sweater", "毛衣=sweater|针织衫=knit top|开衫=cardigan",
     "羊毛=Wool|高领=Turtleneck|慵懒风=Oversized|软糯=Cozy", "S|M|L", 260, "", True),
    ("服饰", "男装=Menswear", "T恤=T-Shirt", "T恤=t-shirt|短袖=short-sleeve tee|体恤=tee",
     "纯棉=Cotton|圆领=Crew-Neck|宽松=Oversized|印花=Graphic|速干=Quick-Dry", "S|M|L|XL|XXL", 79, "", True),
    ("服饰", "男装=Menswear", "牛仔裤=Jeans", "牛仔裤=jeans|直筒裤=straight-leg jeans|修身牛仔裤=slim jeans",
     "修身=Slim-Fit|直筒=Straight|弹力=Stretch|水洗=Washed|破洞=Ripped", "30|32|34|36", 199, "", True),
    ("服饰", "男装=Menswear", "夹克=Jacket", "夹克=jacket|外套=coat|风衣=trench coat",
     "防风=Windproof|工装=Utility|立领=Stand-Collar|商务=Business|休闲=Casual", "M|L|XL|XXL", 399, "", True),
    ("服饰", "鞋靴=Shoes", "运动鞋=Sneakers", "运动鞋=sneakers|跑步鞋=running shoes|休闲鞋=casual shoes",
     "透气=Breathable|缓震=Cushioned|轻便=Lightweight|增高=Platform|百搭=Versatile", "38|40|42|44", 399, "", True),
    ("服饰", "鞋靴=Shoes", "靴子=Boots", "靴子=boots|马丁靴=Martin boots|短靴=ankle boots",
     "真皮=Leather|加绒=Fleece-Lined|防水=Waterproof|复古=Vintage", "37|39|41|43", 459, "", True),
    ("家居", "厨具=Kitchenware", "炒锅=Wok", "炒锅=wok|不粘锅=non-stick pan|铁锅=iron wok",
     "不粘=Non-Stick|麦饭石=Stone-Coated|无油烟=Smokeless|铸铁=Cast-Iron", "32cm|28cm|30cm", 189, "", False),
    ("家居", "厨具=Kitchenware", "刀具=Knife Set", "刀具套装=knife set|菜刀=kitchen knife|厨师刀=chef's knife",
     "不锈钢=Stainless-Steel|锋利=Razor-Sharp|大马士革=Damascus|德国工艺=German-Made", "5件套=5-Piece|3件套=3-Piece", 199, "", False),
    ("家居", "厨具=Kitchenware", "保温杯=Thermos", "保温杯=thermos|水杯=water bottle|焖烧杯=food jar",
     "316不锈钢=316-Steel|大容量=Large|便携=Portable|保冷=Insulated", "500ml|750ml|1L", 99, "", True),
    ("家居", "家纺=Bedding", "四件套=Bedding Set", "四件套=bedding set|床单=bed sheet|被套=duvet cover",
     "纯棉=Cotton|全棉=100% Cotton|磨毛=Brushed|简约=Minimalist|ins风=Aesthetic", "1.5m|1.8m|2.0m", 299, "", True),
    ("家居", "家纺=Bedding", "枕头=Pillow", "枕头=pillow|枕芯=pillow insert|记忆枕=memory foam pillow",
     "记忆棉=Memory-Foam|护颈=Neck-Support|乳胶=Latex|羽绒=Down", "一对=Pair|单只=Single", 129, "", False),
    ("家居", "家纺=Bedding", "被子=Duvet", "被子=duvet|羽绒被=down comforter|空调被=summer quilt",
     "加厚=Winter-Weight|蚕丝=Silk|抗菌=Antibacterial|轻盈=Featherlight", "150x200cm|200x230cm", 359, "", False),
    ("家居", "收纳=Storage", "收纳盒=Storage Box", "收纳盒=storage box|收纳箱=storage bin|整理箱=organizer",
     "可折叠=Foldable|大号=Large|透明=Clear|带盖=Lidded", "3个装=3-Pack|单个=Single", 59, "", True),
    ("家居", "收纳=Storage", "衣架=Hanger", "衣架=hangers|防滑衣架=non-slip hangers",
     "防滑=Non-Slip|植绒=Velvet|实木=Wooden", "20个=20-Pack|50个=50-Pack", 39, "", True),
    ("食品", "零食=Snacks", "坚果=Nuts", "坚果=nuts|每日坚果=daily nuts|混合坚果=mixed nuts",
     "原味=Original|盐焗=Salted|烘焙=Roasted|量贩装=Family-Size", "500g|750g|30包=30 Packs", 89, "", False),
    ("食品", "零食=Snacks", "饼干=Cookies", "饼干=cookies|曲奇=biscuits|苏打饼干=crackers",
     "黄油=Butter|全麦=Whole-Wheat|无糖=Sugar-Free|夹心=Cream-Filled", "400g|1kg", 39, "", False),
    ("食品", "零食=Snacks", "肉干=Jerky", "牛肉干=beef jerky|肉干=jerky|猪肉脯=pork jerky",
     "麻辣=Spicy|五香=Five-Spice|风干=Air-Dried", "250g|500g", 69, "", False),
    ("食品", "饮品=Drinks", "茶叶=Tea", "茶叶=tea|绿茶=green tea|红茶=black tea|乌龙茶=oolong tea",
     "明前=Early-Spring|特级=Premium|浓香=Rich|礼盒=Gift-Box", "250g|500g|100g", 168, "", False),
    ("食品", "饮品=Drinks", "咖啡=Coffee", "咖啡=coffee|咖啡豆=coffee beans|挂耳咖啡=drip coffee",
     "阿拉比卡=Arabica|深烘=Dark-Roast|冷萃=Cold-Brew|速溶=Instant|意式=Espresso", "500g|20袋=20 Bags|1kg", 99, "", False),
    ("食品", "生鲜=Fresh", "水果=Fruit", "水果=fruit|苹果=apples|橙子=oranges|车厘子=cherries",
     "新鲜=Fresh|当季=Seasonal|脆甜=Crisp-Sweet|大果=Large", "5斤=2.5kg|3斤=1.5kg|10斤=5kg", 69, "", False),
    ("食品", "生鲜=Fresh", "乳品=Dairy", "牛奶=milk|纯牛奶=whole milk|酸奶=yogurt",
     "全脂=Full-Cream|低脂=Low-Fat|有机=Organic|高钙=High-Calcium", "250ml*12=250ml x 12|1L*6=1L x 6", 59, "", False),
    ("运动", "健身=Fitness", "瑜伽垫=Yoga Mat", "瑜伽垫=yoga mat|健身垫=exercise mat|防滑垫=non-slip mat",
     "加厚=Thick|防滑=Non-Slip|TPE|加宽=Extra-Wide", "6mm|10mm|8mm", 89, "", True),
    ("运动", "健身=Fitness", "哑铃=Dumbbells", "哑铃=dumbbells|可调哑铃=adjustable dumbbells|健身哑铃=fitness dumbbells",
     "可调节=Adjustable|包胶=Rubber-Coated|家用=Home", "5kg|10kg|20kg", 159, "", False),
    ("运动", "健身=Fitness", "跳绳=Jump Rope", "跳绳=jump rope|计数跳绳=counting jump rope",
     "计数=Counting|无绳=Cordless|负重=Weighted", "", 49, "", True),
    ("运动", "户外=Outdoor", "帐篷=Tent", "帐篷=tent|露营帐篷=camping tent|天幕=canopy",
     "防雨=Rainproof|速开=Instant|双人=2-Person|全自动=Pop-Up|加厚=Heavy-Duty", "2人=2P|4人=4P", 399, "", True),
    ("运动", "户外=Outdoor", "登山包=Backpack", "登山包=hiking backpack|背包=backpack|双肩包=daypack",
     "大容量=Large-Capacity|防水=Waterproof|轻量=Lightweight|户外=Outdoor", "40L|60L|30L", 269, "", True),
    ("运动", "骑行=Cycling", "头盔=Helmet", "骑行头盔=cycling helmet|头盔=helmet|自行车头盔=bike helmet",
     "一体成型=One-Piece|透气=Vented|超轻=Ultralight", "M|L", 199, "size", True),
    ("母婴", "尿裤湿巾=Diapering", "纸尿裤=Diapers", "纸尿裤=diapers|尿不湿=nappies|拉拉裤=pull-ups",
     "超薄=Ultra-Thin|透气=Breathable|夜用=Overnight|干爽=Dry",
     "S码=Size S|M码=Size M|L码=Size L|XL码=Size XL", 129, "size", False),
    ("母婴", "尿裤湿巾=Diapering", "湿巾=Baby Wipes", "湿巾=baby wipes|婴儿湿巾=wet wipes",
     "手口=Hand-and-Mouth|无香=Unscented|加厚=Thick", "80抽=80 Count|10包=10 Packs", 49, "", False),
    ("母婴", "喂养=Feeding", "奶粉=Formula", "奶粉=infant formula|婴儿奶粉=baby formula|配方奶粉=formula milk",
     "有机=Organic|A2|1段=Stage 1|3段=Stage 3|进口=Imported", "800g|900g", 298, "", False),
    ("母婴", "喂养=Feeding", "奶瓶=Baby Bottle", "奶瓶=baby bottle|宽口奶瓶=wide-neck bottle",
     "玻璃=Glass|防胀气=Anti-Colic|PPSU", "240ml|160ml", 89, "", True),
    ("母婴", "玩具=Toys", "积木=Building Blocks", "积木=building blocks|拼装积木=construction set|拼插玩具=brick toy",
     "益智=Educational|大颗粒=Large-Brick|城市=City|机甲=Mech", "500片=500 Pieces|1000片=1000 Pieces", 199, "", False),
    ("母婴", "玩具=Toys", "毛绒玩具=Plush Toy", "毛绒玩具=plush toy|公仔=stuffed animal|玩偶=doll",
     "可爱=Cute|安抚=Comfort|大号=Giant", "30cm|60cm", 79, "", True),
    ("家电", "厨房电器=Kitchen Appliances", "电饭煲=Rice Cooker", "电饭煲=rice cooker|电饭锅=electric rice cooker",
     "智能=Smart|IH|低糖=Low-Sugar|多功能=Multi-Function", "3L|4L|5L", 399, "", False),
    ("家电", "厨房电器=Kitchen Appliances", "空气炸锅=Air Fryer", "空气炸锅=air fryer|炸锅=fryer",
     "大容量=Large-Capacity|可视=Window|无油=Oil-Free|智能=Smart", "5L|6L|4.5L", 329, "", True),
    ("家电", "厨房电器=Kitchen Appliances", "破壁机=Blender", "破壁机=blender|料理机=food processor|榨汁机=juicer",
     "静音=Quiet|加热=Heated|便携=Portable|多功能=Multi-Function", "1.75L|1.2L", 499, "", False),
    ("家电", "清洁电器=Cleaning", "扫地机器人=Robot Vacuum", "扫地机器人=robot vacuum|扫拖一体机=robot mop|扫地机=robo-vac",
     "自动集尘=Self-Emptying|激光导航=LiDAR|扫拖一体=2-in-1|智能=Smart", "", 2299, "battery", False),
    ("家电", "清洁电器=Cleaning", "吸尘器=Vacuum", "吸尘器=vacuum cleaner|无线吸尘器=cordless vacuum|手持吸尘器=handheld vacuum",
     "无线=Cordless|大吸力=Powerful-Suction|手持=Handheld|除螨=Anti-Mite", "", 899, "battery", False),
    ("家电", "个护电器=Personal Care", "电动牙刷=Electric Toothbrush", "电动牙刷=electric toothbrush|声波牙刷=sonic toothbrush",
     "声波=Sonic|美白=Whitening|软毛=Soft-Bristle|充电式=Rechargeable", "", 199, "battery", True),
    ("家电", "个护电器=Personal Care", "吹风机=Hair Dryer", "吹风机=hair dryer|电吹风=blow dryer",
     "负离子=Ionic|高速=High-Speed|速干=Fast-Drying|静音=Quiet|折叠=Foldable", "1800W|2000W", 299, "", True),
    ("宠物", "宠物食品=Pet Food", "猫粮=Cat Food", "猫粮=cat food|猫干粮=dry cat food|幼猫粮=kitten food",
     "无谷=Grain-Free|鲜肉=Fresh-Meat|全价=Complete|冻干=Freeze-Dried", "2kg|5kg|10kg", 159, "palatability", False),
    ("宠物", "宠物食品=Pet Food", "狗粮=Dog Food", "狗粮=dog food|犬粮=dry dog food|幼犬粮=puppy food",
     "天然=Natural|鸡肉=Chicken|小型犬=Small-Breed|美毛=Shiny-Coat", "2kg|10kg|15kg", 189, "palatability", False),
    ("宠物", "宠物食品=Pet Food", "宠物零食=Pet Treats", "宠物零食=pet treats|猫条=cat treats|磨牙棒=dog chews",
     "冻干=Freeze-Dried|低盐=Low-Salt|鸡胸肉=Chicken-Breast", "100g|20支=20 Sticks", 49, "palatability", False),
    ("宠物", "宠物用品=Pet Supplies", "猫砂=Cat Litter", "猫砂=cat litter|豆腐猫砂=tofu litter|膨润土猫砂=bentonite litter",
     "豆腐=Tofu|除臭=Deodorizing|无尘=Dust-Free|混合=Mixed", "6L|10kg|2.5kg", 59, "odor", False),
    ("宠物", "宠物用品=Pet Supplies", "猫爬架=Cat Tree", "猫爬架=cat tree|猫抓板=cat scratcher|猫窝=cat bed",
     "实木=Wooden|大型=Large|剑麻=Sisal|多层=Multi-Level", "", 199, "", True),
    ("图书", "文学=Literature", "小说=Fiction", "小说=novel|长篇小说=fiction|推理小说=mystery novel|科幻小说=sci-fi novel",
     "经典=Classic|悬疑=Suspense|获奖=Award-Winning|珍藏版=Collector's|全集=Complete", "平装=Paperback|精装=Hardcover", 49, "", False),
    ("图书", "文学=Literature", "散文诗歌=Essays", "散文集=essay collection|诗集=poetry collection|随笔=essays",
     "名家=Renowned|治愈=Heartwarming|经典=Classic", "平装=Paperback|精装=Hardcover", 39, "", False),
    ("图书", "童书=Children's Books", "绘本=Picture Books", "绘本=picture book|儿童绘本=children's picture book|图画书=storybook",
     "启蒙=Early-Learning|双语=Bilingual|睡前=Bedtime|立体=Pop-Up", "10册=10 Volumes|全套=Full Set", 89, "", False),
    ("图书", "教育=Education", "编程=Programming", "编程书=programming book|Python教程=Python guide|编程入门=coding primer",
     "零基础=Beginner|实战=Hands-On|进阶=Advanced|机器学习=Machine-Learning", "", 89, "", False),
    ("图书", "教育=Education", "外语=Languages", "英语词汇=English vocabulary book|单词书=word book|口语教程=speaking guide",
     "考研=Exam-Prep|雅思=IELTS|速记=Quick-Memorize", "", 59, "", False),
)

# Brand names are built from syllables with a fixed Chinese transliteration, like real
# imported brands (欧莱雅 = L'Oréal): 露米 = Lumi, 卡瑞娜 = Karina.
_SYLLABLES = _pairs(
    "露=lu|米=mi|诺=no|雅=ya|安=an|凯=kai|瑞=ri|拉=la|蒂=ti|欧=o|贝=be|德=de|柏=bo|朗=ran|菲=fi|维=vi|思=si|卡=ka|"
    "莉=li|娜=na|萨=sa|森=sen|塔=ta|威=we|琪=ki|图=tu|洛=lo|曼=man|芙=fu|伊=i|艾=ai|索=so|达=da|蔻=ko|泽=ze"
)
_COLOURS = _pairs("黑色=Black|白色=White|灰色=Grey|蓝色=Blue|粉色=Pink|红色=Red|绿色=Green|米色=Beige|紫色=Purple|银色=Silver")
_MARKETING = _pairs("新款=New|2025新款=2025 New|正品=Genuine|爆款=Bestselling|官方正品=Official|热卖=Hot|"
                    "限定款=Limited Edition|升级款=Upgraded|经典款=Classic|网红=Trending")
_SCENES = _pairs("适合日常使用=Great for everyday use|送礼自用两相宜=A perfect gift or a treat for yourself|"
                 "居家出行必备=Essential at home and on the go|学生党首选=A student favourite|上班族必备=Made for busy professionals|"
                 "全家都适用=For the whole family|品质生活之选=For a better everyday life|限时优惠，欢迎选购=Limited-time offer, shop now")
_QUALIFIERS = _pairs("推荐=best|便宜=cheap|正品=original|性价比=value|新款=new|好用=good|学生=student|礼物=gift")
# openers and closers by star rating, 1 to 5
_OPENERS = [_pairs("非常失望！=Very disappointed!|差评！=Terrible!"),
            _pairs("有点失望。=A bit disappointed.|不太满意。=Not very satisfied."),
            _pairs("一般般吧。=It's okay.|中规中矩。=Average."),
            _pairs("挺好的。=Pretty good.|整体满意。=Happy overall."),
            _pairs("非常满意！=Love it!|五星好评！=Five stars!")]
_CLOSERS = ([_pairs("不会再买了。=Won't buy again.|不推荐。=Not recommended.")] * 2
            + [_pairs("凑合用吧。=It'll do.|还可以。=Acceptable.")]
            + [_pairs("会回购的。=Will buy again.|推荐购买。=Recommended.")] * 2)
_MENTIONS = _pairs("买了这款=Bought this|给家里买的=Ordered this|入手的这款=Got this")


class Lexicon:
    """Bilingual phrases in groups (per leaf category, per aspect and polarity, ...).

    Row 0 is the empty phrase: it is what a row whose group has no phrases gets.
    `zh`, `en` and `en_title` are parallel string arrays indexed by phrase index.
    """

    def __init__(self, groups: list[list[tuple[str, str]]]):
        phrases = [("", "")] + [p for group in groups for p in group]
        self.zh = np.array([p[0] for p in phrases], dtype=STR)
        self.en = np.array([p[1] for p in phrases], dtype=STR)
        self.en_title = np.array([_title_case(p[1]) for p in phrases], dtype=STR)
        self.count = np.array([len(g) for g in groups], dtype=np.int64)
        self.offset = 1 + np.concatenate([[0], np.cumsum(self.count)[:-1]]).astype(np.int64)

    def draw(self, group: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One random phrase index per row from that row's group (0 where the group is empty)."""
        count = self.count[group]
        pick = self.offset[group] + (rng.random(len(group)) * count).astype(np.int64)
        return np.where(count > 0, pick, 0)

    def draw_distinct(self, group: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        """(rows, k) indices of k distinct phrases per row; 0 once a group runs out."""
        width = int(self.count.max())
        count = self.count[group][:, None]
        keys = rng.random((len(group), width))
        keys[np.arange(width) >= count] = 2.0  # past the group's end: sorts last
        order = np.argsort(keys, axis=1)[:, :k]
        return np.where(order < count, self.offset[group][:, None] + order, 0)


def join(parts: list[np.ndarray], sep) -> np.ndarray:
    """Join per-row strings with `sep` (scalar or per row), skipping empty parts."""
    out = np.asarray(parts[0], dtype=STR)
    for part in parts[1:]:
        glue = np.where((out != "") & (part != ""), sep, "")
        out = np.strings.add(np.strings.add(out, glue), part)
    return out


def _cat(*parts) -> np.ndarray:
    out = parts[0]
    for part in parts[1:]:
        out = np.strings.add(out, part)
    return out


def _capitalise(text: np.ndarray) -> np.ndarray:
    return np.strings.add(np.strings.upper(np.strings.slice(text, 0, 1)), np.strings.slice(text, 1, None))


# --------------------------------------------------------------------------- vocabulary tables
@dataclass(frozen=True)
class Vocabulary:
    """The parsed vocabulary: one row per leaf category, lexicons grouped by leaf or top."""

    top_zh: tuple[str, ...]
    top_en: tuple[str, ...]
    top_elasticity: np.ndarray
    top_season_amplitude: np.ndarray
    top_season_peak: np.ndarray
    leaf_top: np.ndarray  # index into top_*
    leaf_path_zh: tuple[str, ...]  # "美妆 > 护肤 > 面霜"
    leaf_path_en: tuple[str, ...]
    leaf_sub: np.ndarray  # index of the (top, sub) pair, for the topic hierarchy
    leaf_price: np.ndarray
    leaf_coloured: np.ndarray
    leaf_aspects: np.ndarray  # (leaves, max aspects) indices into ASPECT_KEYS, -1 padded
    nouns: Lexicon  # grouped by leaf
    mods: Lexicon  # grouped by leaf
    specs: Lexicon  # grouped by leaf
    features: Lexicon  # grouped by top
    aspect_phrases: Lexicon  # grouped by 2 * aspect + positive


def _build_vocabulary() -> Vocabulary:
    tops = list(TOPS)
    leaf_top = np.array([tops.index(row[0]) for row in _LEAVES])
    subs = list(dict.fromkeys(row[:2] for row in _LEAVES))
    path_zh, path_en, aspects = [], [], []
    for top, sub, leaf, *_rest, extra, _coloured in _LEAVES:
        (sub_zh, sub_en), (leaf_zh, leaf_en) = _pairs(sub)[0], _pairs(leaf)[0]
        path_zh.append(f"{top} > {sub_zh} > {leaf_zh}")
        path_en.append(f"{TOPS[top][0]} > {sub_en} > {leaf_en}")
        keys = TOPS[top][1].split() + [k for k in extra.split() if k not in TOPS[top][1].split()]
        aspects.append([ASPECT_KEYS.index(k) for k in keys])
    width = max(map(len, aspects))
    phrase_groups = []
    for _zh, _en, positive, negative in ASPECTS.values():
        phrase_groups += [_pairs(negative), _pairs(positive)]
    return Vocabulary(
        top_zh=tuple(tops),
        top_en=tuple(TOPS[t][0] for t in tops),
        top_elasticity=np.array([TOPS[t][2] for t in tops]),
        top_season_amplitude=np.array([TOPS[t][3] for t in tops]),
        top_season_peak=np.array([TOPS[t][4] for t in tops]),
        leaf_top=leaf_top,
        leaf_path_zh=tuple(path_zh),
        leaf_path_en=tuple(path_en),
        leaf_sub=np.array([subs.index(row[:2]) for row in _LEAVES]),
        leaf_price=np.array([row[6] for row in _LEAVES], dtype=float),
        leaf_coloured=np.array([row[8] for row in _LEAVES]),
        leaf_aspects=np.array([a + [-1] * (width - len(a)) for a in aspects]),
        nouns=Lexicon([_pairs(row[3]) for row in _LEAVES]),
        mods=Lexicon([_pairs(row[4]) for row in _LEAVES]),
        specs=Lexicon([_pairs(row[5]) for row in _LEAVES]),
        features=Lexicon([_pairs(TOPS[t][5]) for t in tops]),
        aspect_phrases=Lexicon(phrase_groups),
    )


VOCAB = _build_vocabulary()
_COLOUR_LEX = Lexicon([_COLOURS])
_MARKETING_LEX = Lexicon([_MARKETING])
_SCENE_LEX = Lexicon([_SCENES])
_QUALIFIER_LEX = Lexicon([_QUALIFIERS])
_OPENER_LEX = Lexicon(_OPENERS)
_CLOSER_LEX = Lexicon(_CLOSERS)
_MENTION_LEX = Lexicon([_MENTIONS])


def _one_group(n: int) -> np.ndarray:
    return np.zeros(n, dtype=np.int64)


# --------------------------------------------------------------------------- composition
def brand_names(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n distinct brand names (zh, en), two syllables first, three when two run out."""
    zh = np.array([s[0] for s in _SYLLABLES], dtype=STR)
    en = np.array([s[1] for s in _SYLLABLES], dtype=STR)
    k = len(_SYLLABLES)
    names_zh, names_en = [], []
    for length in (2, 3):
        combos = np.stack(np.unravel_index(rng.permutation(k**length), (k,) * length), axis=1)
        names_zh.append(_cat(*(zh[combos[:, j]] for j in range(length))))
        names_en.append(_capitalise(_cat(*(en[combos[:, j]] for j in range(length)))))
    names_zh, names_en = np.concatenate(names_zh), np.concatenate(names_en)
    # different syllable splits can spell the same English name ("o"+"no" vs "on"+"o"): keep the first
    _, first = np.unique(names_en, return_index=True)
    keep = np.sort(first)[:n]
    if len(keep) < n:
        raise ValueError(f"at most {len(first)} distinct brand names are available, asked for {n}")
    return names_zh[keep], names_en[keep]


@dataclass
class ItemText:
    title_zh: np.ndarray
    title_en: np.ndarray
    description_zh: np.ndarray
    description_en: np.ndarray
    mod: np.ndarray  # the title's first modifier (phrase index), which queries for the item may reuse


def item_texts(leaf: np.ndarray, brand_zh: np.ndarray, brand_en: np.ndarray, rng: np.random.Generator) -> ItemText:
    """Titles like "【露米】新款保湿补水面霜 50ml" / "Lumi New Hydrating Moisturizing Face Cream 50ml"."""
    n = len(leaf)
    v = VOCAB
    noun = v.nouns.draw(leaf, rng)
    mods = v.mods.draw_distinct(leaf, 2, rng)
    mod, mod2 = mods[:, 0], np.where(rng.random(n) < 0.5, mods[:, 1], 0)
    spec = np.where(rng.random(n) < 0.8, v.specs.draw(leaf, rng), 0)
    colour = np.where(v.leaf_coloured[leaf] & (rng.random(n) < 0.7), _COLOUR_LEX.draw(_one_group(n), rng), 0)
    marketing = np.where(rng.random(n) < 0.4, _MARKETING_LEX.draw(_one_group(n), rng), 0)
    features = v.features.draw_distinct(v.leaf_top[leaf], 3, rng)
    scene = _SCENE_LEX.draw(_one_group(n), rng)

    name_zh = _cat("【", brand_zh, "】", _MARKETING_LEX.zh[marketing], v.mods.zh[mod], v.mods.zh[mod2], v.nouns.zh[noun])
    title_zh = join([name_zh, v.specs.zh[spec], _COLOUR_LEX.zh[colour]], " ")
    title_en = join([brand_en, _MARKETING_LEX.en[marketing], v.mods.en[mod], v.mods.en[mod2], v.nouns.en_title[noun],
                     v.specs.en[spec], _COLOUR_LEX.en[colour]], " ")
    f_zh = [v.features.zh[features[:, j]] for j in range(3)]
    f_en = [v.features.en[features[:, j]] for j in range(3)]
    description_zh = _cat(brand_zh, v.mods.zh[mod], v.nouns.zh[noun], "，", join(f_zh, "，"), "。",
                          _SCENE_LEX.zh[scene], "。")
    description_en = _cat(join([brand_en, np.strings.lower(v.mods.en[mod]), v.nouns.en[noun]], " "), " with ",
                          f_en[0], ", ", f_en[1], " and ", f_en[2], ". ", _SCENE_LEX.en[scene], ".")
    return ItemText(title_zh, title_en, description_zh, description_en, mod)


def _typo(text: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Drop, swap or double one inner character: what fast typing does to a query."""
    length = np.strings.str_len(text)
    pos = 1 + (rng.random(len(text)) * np.maximum(length - 2, 1)).astype(np.int64)
    head, here = np.strings.slice(text, 0, pos), np.strings.slice(text, pos, pos + 1)
    after, rest = np.strings.slice(text, pos + 1, pos + 2), np.strings.slice(text, pos + 2, None)
    kind = rng.integers(0, 3, len(text))
    dropped = _cat(head, after, rest)
    swapped = _cat(head, after, here, rest)
    doubled = _cat(head, here, here, after, rest)
    return np.where(kind == 0, dropped, np.where(kind == 1, swapped, doubled))


@dataclass
class Queries:
    text: np.ndarray
    has_brand: np.ndarray
    has_modifier: np.ndarray
    has_typo: np.ndarray


def queries(leaf: np.ndarray, item_mod: np.ndarray, brand_zh: np.ndarray, brand_en: np.ndarray, zh: np.ndarray,
            rng: np.random.Generator, typo_rate: float = 0.07) -> Queries:
    """Search queries for target items: a (synonym of the) product noun, maybe with the brand,
    one of the item's modifiers or a shopping word ("cheap", "推荐"); some carry a typo."""
    n = len(leaf)
    v = VOCAB
    noun = v.nouns.draw(leaf, rng)  # any synonym, not necessarily the title's word
    has_brand = rng.random(n) < 0.3
    has_mod = rng.random(n) < 0.35
    qualifier = np.where(rng.random(n) < 0.12, _QUALIFIER_LEX.draw(_one_group(n), rng), 0)
    # Chinese shoppers often type a brand's Latin name ("lumi面霜"), and rarely use spaces.
    brand_zh_query = np.where(rng.random(n) < 0.25, np.strings.lower(brand_en), brand_zh)
    zh_sep = np.where(rng.random(n) < 0.3, " ", "")
    text_zh = join([np.where(has_brand, brand_zh_query, ""), np.where(has_mod, v.mods.zh[item_mod], ""),
                    v.nouns.zh[noun], _QUALIFIER_LEX.zh[qualifier]], zh_sep)
    text_en = join([_QUALIFIER_LEX.en[qualifier], np.where(has_brand, brand_en, ""),
                    np.where(has_mod, v.mods.en[item_mod], ""), v.nouns.en[noun]], " ")
    text = np.where(zh, text_zh, np.strings.lower(text_en))
    has_typo = (rng.random(n) < np.where(zh, typo_rate / 2, typo_rate)) & (np.strings.str_len(text) >= 4)
    text = np.where(has_typo, _typo(text, rng), text)
    return Queries(text, has_brand, has_mod, has_typo)


def review_texts(leaf: np.ndarray, rating: np.ndarray, aspects: np.ndarray, positive: np.ndarray, zh: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Review text from the (aspect, polarity) slots of each review (aspects -1 = unused slot).

    Returns the texts and a (reviews, slots) array of each slot's phrase exactly as written in the
    text ("" for unused slots).
    """
    n, k = aspects.shape
    v = VOCAB
    phrase = np.zeros((n, k), dtype=np.int64)
    for j in range(k):  # k is 3: a loop over slots, not over reviews
        used = aspects[:, j] >= 0
        drawn = v.aspect_phrases.draw(np.where(used, 2 * aspects[:, j] + positive[:, j], 0), rng)
        phrase[:, j] = np.where(used, drawn, 0)
    star = np.clip(rating.astype(np.int64), 1, 5) - 1
    opener = np.where(rng.random(n) < 0.6, _OPENER_LEX.draw(star, rng), 0)
    closer = np.where(rng.random(n) < 0.4, _CLOSER_LEX.draw(star, rng), 0)
    mention = np.where(rng.random(n) < 0.3, _MENTION_LEX.draw(_one_group(n), rng), 0)
    noun = v.nouns.draw(leaf, rng)

    said_zh = [v.aspect_phrases.zh[phrase[:, j]] for j in range(k)]
    said_en = [v.aspect_phrases.en[phrase[:, j]] for j in range(k)]
    said_en[0] = _capitalise(said_en[0])  # slots fill from the first, which starts the English sentence
    mention_zh = np.where(mention > 0, _cat(_MENTION_LEX.zh[mention], v.nouns.zh[noun], "，"), "")
    body_zh = _cat(mention_zh, join(said_zh, "，"), "。")
    text_zh = _cat(_OPENER_LEX.zh[opener], body_zh, _CLOSER_LEX.zh[closer])
    mention_en = np.where(mention > 0, _cat(_MENTION_LEX.en[mention], " ", v.nouns.en[noun], "."), "")
    body_en = _cat(join(said_en, ", "), ".")
    text_en = join([_OPENER_LEX.en[opener], mention_en, body_en, _CLOSER_LEX.en[closer]], " ")
    said = np.where(zh[:, None], np.stack(said_zh, axis=1), np.stack(said_en, axis=1))
    return np.where(zh, text_zh, text_en), said

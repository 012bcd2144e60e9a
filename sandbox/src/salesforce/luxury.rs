//! The luxury brands' catalogues: `Product2` records carrying the brand's slug in `Brand__c` (bags, leather
//! goods, jewellery, watches, ready-to-wear; atelier's made-to-order line), each with a Standard Price Book
//! entry in EUR. Deterministic: the same values on every start, `LastModifiedDate` a minute apart in list
//! order so incremental queries have something to cut. A few are inactive, as discontinued lines are.

use serde_json::json;

use super::store::Store;

pub struct LuxuryProduct {
    pub brand: &'static str,
    pub sku: &'static str,
    pub name: &'static str,
    pub family: &'static str,
    pub colour: &'static str,
    pub material: &'static str,
    pub description: &'static str,
    /// Whole euros.
    pub price: u32,
    pub active: bool,
}

const fn product(
    brand: &'static str,
    sku: &'static str,
    name: &'static str,
    family: &'static str,
    (colour, material): (&'static str, &'static str),
    description: &'static str,
    price: u32,
) -> LuxuryProduct {
    LuxuryProduct {
        brand,
        sku,
        name,
        family,
        colour,
        material,
        description,
        price,
        active: true,
    }
}

const fn discontinued(p: LuxuryProduct) -> LuxuryProduct {
    LuxuryProduct { active: false, ..p }
}

const M: &str = "maison";
const A: &str = "atelier";

pub static PRODUCTS: [LuxuryProduct; 44] = [
    product(
        M,
        "MA-CAP-MM-NOIR",
        "Sac Capucines MM",
        "Bags",
        ("Noir", "Cuir taurillon"),
        "Sac à main en cuir taurillon grainé, fermoir bijou. A grained leather handbag.",
        6900,
    ),
    product(
        M,
        "MA-CAP-BB-ROSE",
        "Sac Capucines BB",
        "Bags",
        ("Rose poudré", "Cuir taurillon"),
        "Le petit sac Capucines en cuir, bandoulière amovible. A small leather bag.",
        5600,
    ),
    product(
        M,
        "MA-CAP-PM-CAMEL",
        "Sac Capucines PM",
        "Bags",
        ("Camel", "Cuir taurillon"),
        "Sac en cuir de taille moyenne, poignée haute. A medium leather bag.",
        6300,
    ),
    product(
        M,
        "MA-ALM-PM-MONO",
        "Sac Alma PM",
        "Bags",
        ("Marron", "Toile enduite"),
        "Sac Alma en toile monogramme, garnitures en cuir naturel.",
        2100,
    ),
    product(
        M,
        "MA-NEV-GM-DAMIER",
        "Sac Neverfull GM",
        "Bags",
        ("Ébène", "Toile enduite"),
        "Cabas spacieux en toile damier. A roomy tote.",
        2050,
    ),
    product(
        M,
        "MA-TWIST-MM-BLANC",
        "Sac Twist MM",
        "Bags",
        ("Blanc", "Cuir épi"),
        "Sac en cuir épi, fermoir twist. An epi leather shoulder bag.",
        4900,
    ),
    product(
        M,
        "MA-KEEP-55-MONO",
        "Keepall Bandoulière 55",
        "Bags",
        ("Marron", "Toile enduite"),
        "Sac de voyage en toile et cuir. A travel bag.",
        2950,
    ),
    product(
        M,
        "MA-PORT-ZIPPY-NOIR",
        "Portefeuille Zippy",
        "Small Leather Goods",
        ("Noir", "Cuir épi"),
        "Portefeuille zippé en cuir épi. A zipped leather wallet.",
        890,
    ),
    product(
        M,
        "MA-PORT-VIC-ROSE",
        "Portefeuille Victorine",
        "Small Leather Goods",
        ("Rose poudré", "Cuir taurillon"),
        "Portefeuille compact en cuir. A compact leather wallet.",
        650,
    ),
    product(
        M,
        "MA-CART-NOIR",
        "Porte-cartes Simple",
        "Small Leather Goods",
        ("Noir", "Cuir taurillon"),
        "Porte-cartes en cuir, quatre fentes. A leather card holder.",
        320,
    ),
    product(
        M,
        "MA-POCH-CLES-MONO",
        "Pochette Clés",
        "Small Leather Goods",
        ("Marron", "Toile enduite"),
        "Petite pochette pour clés et monnaie.",
        280,
    ),
    product(
        M,
        "MA-BRAC-IDYLLE-OR",
        "Bracelet Idylle Blossom",
        "Jewellery",
        ("Or jaune", "Or 18 carats"),
        "Bracelet en or jaune 18 carats et diamants. An 18k gold bracelet.",
        7400,
    ),
    product(
        M,
        "MA-BAGUE-EMPR-OR",
        "Bague Empreinte",
        "Jewellery",
        ("Or blanc", "Or 18 carats"),
        "Bague en or blanc gravée. A white gold ring.",
        3150,
    ),
    product(
        M,
        "MA-COLL-STAR-DIAM",
        "Collier Star Blossom",
        "Jewellery",
        ("Or rose", "Or 18 carats"),
        "Pendentif fleur en or rose serti de diamants.",
        4800,
    ),
    product(
        M,
        "MA-BOUC-COLOR-ONYX",
        "Boucles d'oreilles Color Blossom",
        "Jewellery",
        ("Noir", "Onyx"),
        "Boucles en or et onyx. Gold and onyx earrings.",
        2600,
    ),
    product(
        M,
        "MA-MONT-TAMB-BLEU",
        "Montre Tambour 39",
        "Watches",
        ("Bleu nuit", "Acier"),
        "Montre automatique en acier, cadran bleu. A steel automatic watch.",
        5900,
    ),
    product(
        M,
        "MA-MONT-ESCALE-OR",
        "Montre Escale Worldtime",
        "Watches",
        ("Or rose", "Or 18 carats"),
        "Montre heure universelle en or rose. A world-time gold watch.",
        68000,
    ),
    product(
        M,
        "MA-MONT-HORIZ-NOIR",
        "Montre connectée Horizon",
        "Watches",
        ("Noir", "Titane"),
        "Montre connectée en titane. A titanium smart watch.",
        3200,
    ),
    product(
        M,
        "MA-RTW-TRENCH-BEIGE",
        "Trench ceinturé",
        "Ready-to-Wear",
        ("Beige", "Gabardine de coton"),
        "Trench croisé en gabardine. A belted cotton trench coat.",
        3700,
    ),
    product(
        M,
        "MA-RTW-PULL-CACHE",
        "Pull col roulé",
        "Ready-to-Wear",
        ("Gris chiné", "Cachemire"),
        "Pull en cachemire. A cashmere roll-neck.",
        1450,
    ),
    product(
        M,
        "MA-RTW-VESTE-CUIR",
        "Veste motard",
        "Ready-to-Wear",
        ("Noir", "Cuir d'agneau"),
        "Veste en cuir d'agneau. A lambskin biker jacket.",
        5800,
    ),
    product(
        M,
        "MA-CHAUS-ESCARPIN-NOIR",
        "Escarpins Archlight",
        "Shoes",
        ("Noir", "Cuir verni"),
        "Escarpins en cuir verni. Patent leather pumps.",
        1150,
    ),
    discontinued(product(
        M,
        "MA-CAP-MINI-VERT",
        "Sac Capucines Mini",
        "Bags",
        ("Vert sauge", "Cuir taurillon"),
        "Ancienne couleur de saison. A discontinued seasonal colour.",
        5200,
    )),
    discontinued(product(
        M,
        "MA-FOUL-SOIE-2019",
        "Foulard Confidential",
        "Accessories",
        ("Bleu", "Soie"),
        "Carré de soie, collection 2019. A silk square.",
        430,
    )),
    product(
        A,
        "AT-BORSA-DUO-NERO",
        "Borsa Duomo",
        "Bags",
        ("Nero", "Pelle martellata"),
        "Borsa a mano in pelle martellata. A hammered leather handbag.",
        3900,
    ),
    product(
        A,
        "AT-BORSA-NAV-COGNAC",
        "Borsa Naviglio",
        "Bags",
        ("Cognac", "Pelle vacchetta"),
        "Borsa a tracolla in vacchetta. A leather crossbody bag.",
        2700,
    ),
    product(
        A,
        "AT-TOTE-BRERA-TAUPE",
        "Tote Brera",
        "Bags",
        ("Taupe", "Pelle intrecciata"),
        "Shopper in pelle intrecciata. A woven leather tote.",
        3400,
    ),
    product(
        A,
        "AT-CLUTCH-SCALA-ORO",
        "Pochette Scala",
        "Bags",
        ("Oro", "Raso"),
        "Pochette da sera in raso. A satin evening clutch.",
        1900,
    ),
    product(
        A,
        "AT-PORT-LUNGO-NERO",
        "Portafoglio lungo",
        "Small Leather Goods",
        ("Nero", "Pelle martellata"),
        "Portafoglio continental in pelle. A leather wallet.",
        690,
    ),
    product(
        A,
        "AT-CARD-ROSSO",
        "Portacarte",
        "Small Leather Goods",
        ("Rosso", "Pelle vacchetta"),
        "Portacarte in pelle. A leather card case.",
        290,
    ),
    product(
        A,
        "AT-CINT-REV-NERO",
        "Cintura reversibile",
        "Small Leather Goods",
        ("Nero", "Pelle vacchetta"),
        "Cintura reversibile nero/cognac. A reversible leather belt.",
        540,
    ),
    product(
        A,
        "AT-ANELLO-FIORE-OR",
        "Anello Fiore",
        "Jewellery",
        ("Oro giallo", "Oro 18 carati"),
        "Anello in oro giallo. A yellow gold ring.",
        2400,
    ),
    product(
        A,
        "AT-ORECCH-PERLA",
        "Orecchini Perla",
        "Jewellery",
        ("Bianco", "Perle"),
        "Orecchini con perle coltivate. Pearl earrings.",
        1350,
    ),
    product(
        A,
        "AT-OROL-CLASSICO-38",
        "Orologio Classico 38",
        "Watches",
        ("Argento", "Acciaio"),
        "Orologio a carica manuale. A hand-wound steel watch.",
        7200,
    ),
    product(
        A,
        "AT-OROL-CRONO-ORO",
        "Cronografo Riviera",
        "Watches",
        ("Oro rosa", "Oro 18 carati"),
        "Cronografo in oro rosa. A rose gold chronograph.",
        24500,
    ),
    product(
        A,
        "AT-RTW-CAPP-CAMMELLO",
        "Cappotto vestaglia",
        "Ready-to-Wear",
        ("Cammello", "Lana e cashmere"),
        "Cappotto in lana e cashmere. A wool and cashmere coat.",
        3300,
    ),
    product(
        A,
        "AT-RTW-BLAZER-BLU",
        "Blazer sartoriale",
        "Ready-to-Wear",
        ("Blu notte", "Lana vergine"),
        "Blazer in lana. A tailored wool blazer.",
        2200,
    ),
    product(
        A,
        "AT-RTW-CAMICIA-SETA",
        "Camicia in seta",
        "Ready-to-Wear",
        ("Avorio", "Seta"),
        "Camicia in seta. A silk shirt.",
        890,
    ),
    product(
        A,
        "AT-MTO-BORSA-SU-MISURA",
        "Borsa su misura",
        "Made to Order",
        ("A scelta", "Pelle a scelta"),
        "Borsa realizzata su misura: pelle, colore e monogramma a scelta. A bespoke leather bag.",
        8500,
    ),
    product(
        A,
        "AT-MTO-SCARPA-SU-MISURA",
        "Scarpa su misura",
        "Made to Order",
        ("A scelta", "Pelle a scelta"),
        "Calzatura su misura, forma personale. Bespoke shoes.",
        2600,
    ),
    product(
        A,
        "AT-MTO-GIACCA-SU-MISURA",
        "Giacca su misura",
        "Made to Order",
        ("A scelta", "Tessuto a scelta"),
        "Giacca sartoriale su misura. A bespoke jacket.",
        4800,
    ),
    product(
        A,
        "AT-MTO-BAULE-VIAGGIO",
        "Baule da viaggio",
        "Made to Order",
        ("A scelta", "Pelle e legno"),
        "Baule da viaggio su ordinazione. A made-to-order travel trunk.",
        36000,
    ),
    discontinued(product(
        A,
        "AT-BORSA-LAGO-VERDE",
        "Borsa Lago",
        "Bags",
        ("Verde", "Pelle vacchetta"),
        "Fuori produzione. Discontinued.",
        2500,
    )),
    discontinued(product(
        A,
        "AT-SCIARPA-2020",
        "Sciarpa Portofino",
        "Accessories",
        ("Azzurro", "Seta"),
        "Collezione 2020. A silk scarf.",
        390,
    )),
];

/// `LastModifiedDate` of the `index`th product: a minute after the previous one.
fn modified_at(index: usize) -> String {
    let minutes = index % 60;
    let hours = 10 + index / 60;
    format!("2026-01-20T{hours:02}:{minutes:02}:00.000+0000")
}

pub fn seed(store: &mut Store, pricebook_id: &str) {
    for (index, item) in PRODUCTS.iter().enumerate() {
        let at = modified_at(index);
        let product_id = store.next_id("01t");
        super::seed::insert_at(
            store,
            "Product2",
            &product_id,
            &at,
            json!({
                "Name": item.name,
                "ProductCode": item.sku,
                "StockKeepingUnit": item.sku,
                "Description": item.description,
                "IsActive": item.active,
                "Family": item.family,
                "Brand__c": item.brand,
                "Colour__c": item.colour,
                "Material__c": item.material,
                "Image_Url__c": format!("https://images.sandbox.example/{}/{}.jpg", item.brand, item.sku.to_ascii_lowercase()),
            }),
        );
        let entry_id = store.next_id("01u");
        super::seed::insert_at(
            store,
            "PricebookEntry",
            &entry_id,
            &at,
            json!({
                "Pricebook2Id": pricebook_id,
                "Product2Id": product_id,
                "Name": item.name,
                "ProductCode": item.sku,
                "UnitPrice": f64::from(item.price),
                "IsActive": item.active,
                "CurrencyIsoCode": "EUR",
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashSet;

    use super::PRODUCTS;
    use crate::salesforce::seed::seeded_store;
    use crate::salesforce::soql::run;

    const PRODUCT_QUERY: &str = "SELECT Id, ProductCode, Name, Family, Colour__c, Material__c, Description, \
        IsActive, Brand__c, LastModifiedDate, (SELECT UnitPrice, CurrencyIsoCode FROM PricebookEntries WHERE IsActive = true) \
        FROM Product2 WHERE Brand__c = 'maison' AND LastModifiedDate > 2026-01-20T10:20:00Z \
        ORDER BY LastModifiedDate, Id";

    #[test]
    fn the_catalogue_query_with_a_datetime_watermark_answers_the_brands_later_products_with_prices()
    {
        let outcome = run(PRODUCT_QUERY, &seeded_store(), "v60.0").unwrap();
        let skus: Vec<&str> = outcome
            .records
            .iter()
            .map(|r| r["ProductCode"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = PRODUCTS
            .iter()
            .enumerate()
            .filter(|(i, p)| p.brand == "maison" && *i > 20)
            .map(|(_, p)| p.sku)
            .collect();
        assert_eq!(skus, expected);
        let first = &outcome.records[0];
        assert_eq!(first["Brand__c"], "maison");
        assert_eq!(
            first["PricebookEntries"]["records"][0]["CurrencyIsoCode"],
            "EUR"
        );
        // An inactive product's entry is inactive too: the subquery leaves it out.
        let inactive = outcome
            .records
            .iter()
            .find(|r| r["IsActive"] == false)
            .unwrap();
        assert!(inactive["PricebookEntries"].is_null());
    }

    #[test]
    fn entries_filter_by_their_products_brand_and_skus_are_unique() {
        let outcome = run(
            "SELECT Product2Id FROM PricebookEntry WHERE Product2.Brand__c = 'atelier' AND LastModifiedDate >= 2026-01-01T00:00:00Z",
            &seeded_store(),
            "v60.0",
        )
        .unwrap();
        let atelier = PRODUCTS.iter().filter(|p| p.brand == "atelier").count();
        assert_eq!(outcome.records.len(), atelier);
        let skus: HashSet<&str> = PRODUCTS.iter().map(|p| p.sku).collect();
        assert_eq!(skus.len(), PRODUCTS.len());
        assert!(PRODUCTS.iter().filter(|p| !p.active).count() >= 4);
    }
}

"""Code tables for the synthetic population.

Clinical codes come from DOMAIN.md §5-§6; where DOMAIN.md marks a code unverified and a verified one exists,
the verified one is used, and tests, medicines and conditions with no verified code are left out (no statin,
inhaler or levothyroxine: their dm+d ids were not found). NHS code systems (specialty, admission method,
discharge destination, relationship roles) are UK Core's. A few SNOMED codes not in DOMAIN.md come from public
UK sources, named beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

SNOMED = "http://snomed.info/sct"
DMD = "https://dmd.nhs.uk"
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
GMP = "https://fhir.hl7.org.uk/Id/gmp-number"
GMC = "https://fhir.hl7.org.uk/Id/gmc-number"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SPECIALTY = "https://fhir.hl7.org.uk/CodeSystem/UKCore-PracticeSettingCode"
ADMISSION_METHOD = "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland"
DISCHARGE_DESTINATION = "https://fhir.hl7.org.uk/CodeSystem/UKCore-DischargeDestinationEngland"
OUTCOME_OF_ATTENDANCE = "https://fhir.hl7.org.uk/CodeSystem/UKCore-OutcomeOfAttendanceEngland"
DELIVERY_CHANNEL = "https://fhir.hl7.org.uk/CodeSystem/UKCore-DeliveryChannel"
RELATIONSHIP_ROLE = "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdditionalPersonRelationshipRole"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
CONTACT_ROLE = "http://terminology.hl7.org/CodeSystem/v2-0131"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
# Local code systems of the demo's social care records: councils send their own codes in CSV extracts.
CARE_PACKAGE_TYPE = "https://fhir.example.gov.uk/CodeSystem/asc-service-type"
DELIVERY_MECHANISM = "https://fhir.example.gov.uk/CodeSystem/asc-delivery-mechanism"

ADMISSION_METHOD_EXTENSION = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod"
DISCHARGE_STATUS_EXTENSION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EmergencyCareDischargeStatus"
)
OUTCOME_EXTENSION = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-OutcomeOfAttendance"
SOURCE_OF_REFERRAL_EXTENSION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-SourceOfServiceRequest"
)


def coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def concept(system: str, code: str, display: str) -> dict:
    return {"coding": [coding(system, code, display)], "text": display}


@dataclass(frozen=True)
class Condition:
    """A long-term condition and how common it is: ((from age, female share, male share), ...)."""

    key: str
    code: str
    display: str
    bands: tuple[tuple[int, float, float], ...]
    specialty: str = ""  # main specialty code of the clinic a GP refers to
    medicines: tuple[tuple[str, ...], ...] = ()  # each group: one of these medicines is prescribed

    def prevalence(self, age: int, female: bool) -> float:
        share = 0.0
        for from_age, female_share, male_share in self.bands:
            if age >= from_age:
                share = female_share if female else male_share
        return share


def _same(*bands: tuple[int, float]) -> tuple[tuple[int, float, float], ...]:
    return tuple((age, share, share) for age, share in bands)


_ANTIHYPERTENSIVES = ("amlodipine5", "ramipril5", "lisinopril10", "losartan50", "amlodipine10")
_DIURETICS = ("indapamide2_5", "bendroflumethiazide2_5")

CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "t2dm",
        "44054006",
        "Diabetes mellitus type 2",
        _same((18, 0.01), (40, 0.06), (60, 0.13), (80, 0.16)),
        "302",
        (("metformin500",), ("gliclazide80", "sitagliptin100", "dapagliflozin10")),
    ),
    Condition("t1dm", "46635009", "Diabetes mellitus type 1", _same((0, 0.004)), "302"),
    Condition(
        "hypertension",
        "59621000",
        "Essential hypertension",
        _same((30, 0.03), (40, 0.12), (60, 0.33), (80, 0.48)),
        "",
        (_ANTIHYPERTENSIVES, _DIURETICS),
    ),
    Condition("asthma", "195967001", "Asthma", _same((0, 0.09)), "340"),
    Condition("copd", "13645005", "Chronic obstructive lung disease", _same((45, 0.03), (65, 0.07)), "340"),
    Condition(
        "af",
        "49436004",
        "Atrial fibrillation",
        _same((60, 0.04), (75, 0.09), (85, 0.14)),
        "320",
        (("bisoprolol2_5", "bisoprolol5"),),
    ),
    Condition(
        "heart_failure",
        "84114007",
        "Heart failure",
        _same((65, 0.03), (80, 0.07)),
        "320",
        (("bisoprolol2_5",), ("ramipril2_5",)),
    ),
    Condition(
        "ckd",
        "433144002",
        "Chronic kidney disease stage 3",
        _same((60, 0.07), (75, 0.15), (85, 0.22)),
        "361",
    ),
    Condition("dementia", "52448006", "Dementia", _same((70, 0.03), (80, 0.08), (90, 0.18)), "715"),
    Condition("alzheimers", "26929004", "Alzheimer's disease", _same((70, 0.01), (80, 0.03)), "715"),
    Condition("depression", "35489007", "Depressive disorder", _same((16, 0.09)), "710"),
    Condition("anxiety", "197480006", "Anxiety disorder", _same((16, 0.07))),
    Condition("hypothyroidism", "40930008", "Hypothyroidism", ((30, 0.05, 0.01), (60, 0.09, 0.02)), "302"),
    Condition(
        "stroke",
        "230690007",
        "Cerebrovascular accident",
        _same((60, 0.03), (80, 0.06)),
        "430",
        (("clopidogrel75",),),
    ),
    Condition(
        "mi",
        "22298006",
        "Myocardial infarction",
        ((50, 0.01, 0.03), (70, 0.03, 0.07)),
        "320",
        (("aspirin75disp", "aspirin75gr"), ("bisoprolol5", "atenolol50")),
    ),
    Condition(
        "chd",
        "53741008",
        "Coronary arteriosclerosis",
        ((55, 0.02, 0.04), (75, 0.05, 0.09)),
        "320",
        (("aspirin75disp", "aspirin75gr"),),
    ),
    Condition("ra", "69896004", "Rheumatoid arthritis", ((30, 0.012, 0.005),), "410"),
    Condition("osteoporosis", "64859006", "Osteoporosis", ((60, 0.08, 0.01), (80, 0.18, 0.04)), "410"),
    Condition("epilepsy", "84757009", "Epilepsy", _same((0, 0.008)), "400"),
    Condition("hyperlipidaemia", "55822004", "Hyperlipidaemia", _same((40, 0.08), (60, 0.14))),
    Condition("obesity", "414916001", "Obesity", _same((18, 0.14))),
    Condition(
        "gord",
        "235595009",
        "Gastro-oesophageal reflux disease",
        _same((30, 0.06)),
        "",
        (("paracetamol500",),),
    ),
    Condition("parkinsons", "49049000", "Parkinson's disease", _same((65, 0.012), (80, 0.025)), "400"),
    Condition("bipolar", "13746004", "Bipolar disorder", _same((18, 0.008)), "710"),
    # DOMAIN.md: the code is verified, the term is not; the display is the sender's text.
    Condition("schizophrenia", "58214004", "Schizophrenia", _same((18, 0.005)), "710"),
    Condition("migraine", "37796009", "Migraine", ((12, 0.1, 0.04),), "400"),
    Condition(
        "breast_cancer",
        "254837009",
        "Malignant tumour of breast",
        ((45, 0.015, 0.0), (65, 0.03, 0.0)),
        "370",
    ),
    Condition(
        "prostate_cancer",
        "399068003",
        "Malignant tumour of prostate",
        ((60, 0.0, 0.02), (75, 0.0, 0.05)),
        "101",
    ),
)
CONDITION_BY_KEY = {c.key: c for c in CONDITIONS}

# Acute problems recorded and later resolved.
PNEUMONIA = ("233604007", "Pneumonia")
UTI = ("68566005", "Urinary tract infectious disease")

# DOMAIN.md §6: the RCGP sensitive data set.
STI_CODES = (
    ("240589008", "Chlamydia trachomatis infection"),
    ("15628003", "Gonorrhoea"),
    ("302812006", "Genital wart virus infection"),
    ("76272004", "Syphilis"),
)
FERTILITY_CLINIC = ("185268003", "Seen in fertility clinic")
TERMINATION_SELF_REFERRAL = ("769411000000104", "Self referral to termination of pregnancy service")


@dataclass(frozen=True)
class Medicine:
    display: str
    new_id: str | None
    old_id: str | None
    dose: str
    quantity: int
    unit: str

    @property
    def current_id(self) -> str:
        """The id a current prescription carries; history may still hold the old one."""
        return self.new_id or self.old_id or ""


MEDICINES: dict[str, Medicine] = {
    "metformin500": Medicine(
        "Metformin 500mg tablets",
        "42084911000001109",
        "325278007",
        "One tablet twice a day with meals",
        112,
        "tablet",
    ),
    "amlodipine5": Medicine(
        "Amlodipine 5mg tablets", "39732011000001102", "319283006", "One tablet once a day", 28, "tablet"
    ),
    "amlodipine10": Medicine(
        "Amlodipine 10mg tablets", "39731911000001109", "319284000", "One tablet once a day", 28, "tablet"
    ),
    "clopidogrel75": Medicine(
        "Clopidogrel 75mg tablets", "39689111000001106", "319799004", "One tablet once a day", 28, "tablet"
    ),
    "aspirin75gr": Medicine(
        "Aspirin 75mg gastro-resistant tablets",
        "42291911000001101",
        "319781007",
        "One tablet once a day",
        28,
        "tablet",
    ),
    "aspirin75disp": Medicine(
        "Aspirin 75mg dispersible tablets",
        "42291811000001106",
        None,
        "One tablet once a day, dispersed in water",
        28,
        "tablet",
    ),
    "sitagliptin100": Medicine(
        "Sitagliptin 100mg tablets", "42089711000001108", "424345005", "One tablet once a day", 28, "tablet"
    ),
    "dapagliflozin10": Medicine(
        "Dapagliflozin 10mg tablets", "39689811000001104", "703680009", "One tablet once a day", 28, "tablet"
    ),
    "gliclazide80": Medicine(
        "Gliclazide 80mg tablets", None, "325242002", "One tablet twice a day with meals", 56, "tablet"
    ),
    "ramipril2_5": Medicine(
        "Ramipril 2.5mg capsules", None, "318901006", "One capsule once a day", 28, "capsule"
    ),
    "ramipril5": Medicine(
        "Ramipril 5mg capsules", None, "318902004", "One capsule once a day", 28, "capsule"
    ),
    "lisinopril10": Medicine(
        "Lisinopril 10mg tablets", None, "318859000", "One tablet once a day", 28, "tablet"
    ),
    "bisoprolol2_5": Medicine(
        "Bisoprolol 2.5mg tablets", None, "318605000", "One tablet once a day", 28, "tablet"
    ),
    "bisoprolol5": Medicine(
        "Bisoprolol 5mg tablets", None, "318590006", "One tablet once a day", 28, "tablet"
    ),
    "atenolol50": Medicine("Atenolol 50mg tablets", None, "318420003", "One tablet once a day", 28, "tablet"),
    "losartan50": Medicine("Losartan 50mg tablets", None, "318956006", "One tablet once a day", 28, "tablet"),
    "indapamide2_5": Medicine(
        "Indapamide 2.5mg tablets", None, "317956008", "One tablet each morning", 28, "tablet"
    ),
    "bendroflumethiazide2_5": Medicine(
        "Bendroflumethiazide 2.5mg tablets", None, "317919004", "One tablet each morning", 28, "tablet"
    ),
    "paracetamol500": Medicine(
        "Paracetamol 500mg tablets",
        None,
        "322236009",
        "One or two tablets up to four times a day when required",
        100,
        "tablet",
    ),
    "cocodamol30_500": Medicine(
        "Co-codamol 30mg/500mg tablets",
        None,
        "322341003",
        "One or two tablets up to four times a day when required",
        100,
        "tablet",
    ),
    "amoxicillin500": Medicine(
        "Amoxicillin 500mg capsules",
        "39732411000001106",
        None,
        "One capsule three times a day for 5 days",
        15,
        "capsule",
    ),
    "doxycycline100": Medicine(
        "Doxycycline 100mg capsules",
        "41948311000001104",
        None,
        "Two capsules on the first day, then one capsule a day for 4 days",
        6,
        "capsule",
    ),
    "clarithromycin500": Medicine(
        "Clarithromycin 500mg tablets",
        "41946511000001109",
        None,
        "One tablet twice a day for 5 days",
        10,
        "tablet",
    ),
}
ANTIBIOTICS = ("amoxicillin500", "doxycycline100", "clarithromycin500")

# Allergies (SNOMED). A drug allergy codes the substance, with the reaction as its manifestation (UK Core).
AMOXICILLIN_SUBSTANCE = ("372687004", "Amoxicillin")
URTICARIAL_RASH = ("247472004", "Urticarial rash")
NO_KNOWN_DRUG_ALLERGY = ("409137002", "No known drug allergy")
# (code, display, category, reaction text)
OTHER_ALLERGIES = (
    ("91935009", "Allergy to peanuts", "food", "Swelling of lips and tongue"),
    ("300916003", "Latex allergy", "environment", "Contact dermatitis"),
    ("300913006", "Shellfish allergy", "food", "Vomiting"),
    ("417532002", "Allergy to fish", "food", "Itchy rash"),
    ("714035009", "Allergy to soya", "food", "Abdominal pain"),
    ("232350006", "House dust mite allergy", "environment", "Sneezing and wheeze"),
    ("232347008", "Animal dander allergy", "environment", "Itchy eyes and wheeze"),
    ("418689008", "Allergy to grass pollen", "environment", "Hay fever"),
    ("419263009", "Allergy to tree pollen", "environment", "Hay fever"),
    ("419474003", "Allergy to mould", "environment", "Wheeze"),
)


@dataclass(frozen=True)
class LabTest:
    """A pathology observable (PBCL SNOMED code), its UCUM unit and a typical UK adult range."""

    key: str
    code: str
    display: str
    loinc: str  # only where DOMAIN.md gives a LOINC code for the same unit
    unit: str
    unit_display: str
    low_female: float | None
    high_female: float | None
    low_male: float | None = None
    high_male: float | None = None
    decimals: int = 0
    range_text: str = ""

    def limits(self, female: bool) -> tuple[float | None, float | None]:
        if female or (self.low_male is None and self.high_male is None):
            return self.low_female, self.high_female
        return self.low_male, self.high_male


PER_LITRE_E9 = ("10*9/L", "10^9/L")
LAB_TESTS: dict[str, LabTest] = {
    t.key: t
    for t in (
        LabTest("hb", "1022431000000105", "Haemoglobin estimation", "", "g/L", "g/L", 120, 150, 130, 170),
        LabTest(
            "wcc", "1022541000000102", "White cell count", "26464-8", *PER_LITRE_E9, 4.0, 11.0, decimals=1
        ),
        LabTest("plt", "1022651000000100", "Platelet count", "26515-7", *PER_LITRE_E9, 150, 400),
        LabTest("mcv", "1022491000000106", "Mean cell volume", "30428-7", "fL", "fL", 80, 100),
        LabTest(
            "neut", "1022551000000104", "Neutrophil count", "26499-4", *PER_LITRE_E9, 2.0, 7.5, decimals=1
        ),
        LabTest(
            "lymph", "1022581000000105", "Lymphocyte count", "26474-7", *PER_LITRE_E9, 1.0, 4.0, decimals=1
        ),
        LabTest("sodium", "1000661000000107", "Serum sodium level", "2951-2", "mmol/L", "mmol/L", 133, 146),
        LabTest(
            "potassium",
            "1000651000000109",
            "Serum potassium level",
            "2823-3",
            "mmol/L",
            "mmol/L",
            3.5,
            5.3,
            decimals=1,
        ),
        LabTest(
            "creatinine", "1000731000000107", "Serum creatinine", "", "umol/L", "umol/L", 45, 84, 59, 104
        ),
        LabTest(
            "egfr",
            "1020291000000106",
            "eGFR using creatinine (MDRD)",
            "",
            "mL/min/{1.73_m2}",
            "mL/min/1.73m2",
            60,
            None,
            range_text=">60 (45-59: CKD G3a; 30-44: CKD G3b)",
        ),
        LabTest(
            "hba1c",
            "999791000000106",
            "HbA1c (IFCC)",
            "",
            "mmol/mol",
            "mmol/mol",
            None,
            41,
            range_text="<42 normal; 42-47 at risk; 48 or more: diabetes",
        ),
        LabTest(
            "cholesterol",
            "1005671000000105",
            "Serum cholesterol level",
            "14647-2",
            "mmol/L",
            "mmol/L",
            None,
            5.0,
            decimals=1,
            range_text="<5.0",
        ),
        LabTest(
            "hdl",
            "1005681000000107",
            "Serum HDL cholesterol level",
            "",
            "mmol/L",
            "mmol/L",
            1.0,
            None,
            decimals=1,
            range_text=">1.0",
        ),
        LabTest(
            "triglycerides",
            "1005691000000109",
            "Serum triglycerides level",
            "",
            "mmol/L",
            "mmol/L",
            None,
            1.7,
            decimals=1,
            range_text="<1.7",
        ),
        LabTest(
            "alt", "1018251000000107", "Serum ALT level", "1742-6", "U/L", "U/L", None, 40, range_text="<40"
        ),
        LabTest(
            "alp", "1000621000000104", "Serum alkaline phosphatase level", "6768-6", "U/L", "U/L", 30, 130
        ),
        LabTest(
            "bilirubin",
            "999691000000104",
            "Serum bilirubin level",
            "1975-2",
            "umol/L",
            "umol/L",
            None,
            21,
            range_text="<21",
        ),
        LabTest("albumin", "1000821000000103", "Serum albumin level", "1751-7", "g/L", "g/L", 35, 50),
        LabTest(
            "crp", "999651000000107", "C reactive protein level", "", "mg/L", "mg/L", None, 5, range_text="<5"
        ),
    )
}

# Panels as a laboratory orders them: (local test code, name, v2-0074 section, tests).
# Local order codes are the lab's own (OBR-4), as real laboratories send them.
PANELS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "fbc": ("FBC", "Full blood count", "HM", ("hb", "wcc", "plt", "mcv", "neut", "lymph")),
    "ue": ("UE", "Urea and electrolytes", "CH", ("sodium", "potassium", "creatinine", "egfr")),
    "hba1c": ("HBA1C", "HbA1c", "CH", ("hba1c",)),
    "lipids": ("LIPID", "Lipid profile", "CH", ("cholesterol", "hdl", "triglycerides")),
    "lft": ("LFT", "Liver function tests", "CH", ("alt", "alp", "bilirubin", "albumin")),
    "crp": ("CRP", "C reactive protein", "CH", ("crp",)),
}
DIAGNOSTIC_SERVICE_NAMES = {"HM": "Hematology", "CH": "Chemistry", "RAD": "Radiology"}

# Imaging (SNOMED, DOMAIN.md §5): (code, display, normal report, {reason: abnormal report}).
CHEST_XRAY = ("399208008", "Plain X-ray of chest")
CT_CHEST = ("169069000", "Computed tomography of chest")
WRIST_XRAY = ("60027007", "X-ray of wrist")
WRIST_HAND_XRAY = ("39714003", "Skeletal X-ray of wrist and hand")

# Main specialty codes (UK Core PracticeSettingCode, from the NHS Data Dictionary).
SPECIALTIES = {
    "100": "General Surgery",
    "101": "Urology",
    "110": "Trauma and Orthopaedics",
    "180": "Emergency Medicine",
    "300": "General Internal Medicine",
    "302": "Endocrinology and Diabetes",
    "320": "Cardiology",
    "340": "Respiratory Medicine",
    "361": "Renal Medicine",
    "370": "Medical Oncology",
    "400": "Neurology",
    "410": "Rheumatology",
    "430": "Geriatric Medicine",
    "600": "General Medical Practice",
    "710": "Adult Mental Illness",
    "715": "Old Age Psychiatry",
    "950": "Nursing",
}
# Clinics run by the community and mental health trust rather than the acute hospital.
MENTAL_HEALTH_SPECIALTIES = frozenset({"710", "715"})

# Encounter types (SNOMED) as GP and hospital systems send them: Synthea fixtures in shared/fixtures and
# the UK Core inpatient Encounter example (185212007).
ENCOUNTER_FOR_SYMPTOM = ("185345009", "Encounter for symptom")
ENCOUNTER_FOR_PROBLEM = ("185347001", "Encounter for problem")
ENCOUNTER_FOR_CHECK_UP = ("185349003", "Encounter for check up")
TELEPHONE_ENCOUNTER = ("185317003", "Telephone encounter")
HOME_VISIT = ("439708006", "Home visit")
EMERGENCY_ROOM_ADMISSION = ("50849002", "Emergency room admission")
SEEN_IN_WARD = ("185212007", "Seen in hospital ward")
TREATMENT_COMPLETED = ("182992009", "Treatment completed")  # UK Core emergency care discharge status example
REFERRED_BY_GP = ("108161000000109", "Referred by general practitioner")  # UK Core ServiceRequest example

# Document types: UK Core's discharge Composition example (373942005); NW England's clinical letter
# (823691000000103).
DISCHARGE_SUMMARY = ("373942005", "Discharge summary")
CLINICAL_LETTER = ("823691000000103", "Clinical letter")

# Alerts. 450476008 is the SCR inclusion data set's advised DNACPR code; 105529008 Lives alone (finding);
# the risk codes are those a regional shared care record (Yorkshire and Humber's Interweave) flags on.
DNACPR = ("450476008", "Not for attempted cardiopulmonary resuscitation")
LIVES_ALONE = ("105529008", "Lives alone")
AT_RISK_OF_FALLS = ("129839007", "At risk for falls")
VULNERABLE_ADULT = ("417430008", "Vulnerable adult")
AT_RISK_OF_FINANCIAL_ABUSE = ("761571000000106", "At risk of financial abuse")
AT_RISK_OF_SELF_NEGLECT = ("401233007", "At risk for self-neglect")

# Related persons: v3 RoleCode, v2 table 0131 and UK Core's additional roles, all in
# UKCore-PersonRelationshipType.
NEXT_OF_KIN = (CONTACT_ROLE, "N", "Next-of-Kin")
CARER = (RELATIONSHIP_ROLE, "Carer", "Carer of patient")
FAMILY_ROLES = {
    "wife": (ROLE_CODE, "WIFE", "wife"),
    "husband": (ROLE_CODE, "HUSB", "husband"),
    "partner": (ROLE_CODE, "DOMPART", "domestic partner"),
    "daughter": (ROLE_CODE, "DAUC", "daughter"),
    "son": (ROLE_CODE, "SONC", "son"),
    "mother": (ROLE_CODE, "MTH", "mother"),
    "father": (ROLE_CODE, "FTH", "father"),
    "sister": (ROLE_CODE, "SIS", "sister"),
    "brother": (ROLE_CODE, "BRO", "brother"),
    "neighbour": (ROLE_CODE, "NBOR", "neighbor"),
    "friend": (ROLE_CODE, "FRND", "unrelated friend"),
}

# Adult social care packages (DOMAIN.md §8) and the Client Level Data delivery mechanisms.
CARE_PACKAGES = {
    "home-care": "Home care (domiciliary care)",
    "reablement": "Reablement (short-term support to maximise independence)",
    "residential-care": "Residential care",
    "nursing-care": "Nursing care",
    "day-services": "Day services",
    "direct-payment": "Direct payment",
}
DELIVERY_MECHANISMS = {
    "direct-payment": "Direct Payment",
    "managed-budget": "CASSR Managed Personal Budget",
    "commissioned": "CASSR Commissioned Support",
}

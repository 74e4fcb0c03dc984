"""Labels in Kazakh, Russian and English for the standard fields of each credential type.

A v2 document carries these labels so that a printout, or the portal, shows each
field in the reader's language. Labels are presentation: they are not salted, not
in the target hash, and a verifier reports the labels of THIS table for the fields
it shows, whatever the document's copy says (so an altered label cannot relabel a
value). Values are never translated. The words match the portal's
(node/static/i18n/*.json, keys `field.<name>`).
"""

from __future__ import annotations

import re

Label = dict[str, str]  # language (kk, ru, en) -> words
LANGUAGES = ("kk", "ru", "en")


def _label(kk: str, ru: str, en: str) -> Label:
    return {"kk": kk, "ru": ru, "en": en}


FIELD_LABELS: dict[str, Label] = {
    "full_name": _label("Аты-жөні", "ФИО", "Full name"),
    "iin": _label("ЖСН (жеке сәйкестендіру нөмірі)", "ИИН", "IIN (individual identification "
                  "number)"),
    "birth_date": _label("Туған күні", "Дата рождения", "Date of birth"),
    "student_id": _label("Студенттің нөмірі", "Номер студента", "Student ID"),
    "diploma_number": _label("Диплом нөмірі", "Номер диплома", "Diploma number"),
    "attestat_number": _label("Аттестат нөмірі", "Номер аттестата", "Attestat number"),
    "programme": _label("Білім беру бағдарламасы", "Образовательная программа", "Programme"),
    "programme_code": _label("Білім беру бағдарламасының коды",
                             "Код образовательной программы", "Programme code"),
    "qualification": _label("Біліктілігі", "Квалификация", "Qualification"),
    "degree": _label("Дәрежесі", "Степень", "Degree"),
    "study_language": _label("Оқу тілі", "Язык обучения", "Language of study"),
    "graduation_date": _label("Оқуды бітірген күні", "Дата окончания", "Graduation date"),
    "issue_date": _label("Берілген күні", "Дата выдачи", "Date of issue"),
    "gpa": _label("Орташа балл (GPA)", "Средний балл (GPA)", "GPA"),
    "total_credits": _label("Кредиттер (ECTS)", "Кредиты (ECTS)", "Credits (ECTS)"),
    "honours": _label("Үздік белгісі", "Отличие", "Honours"),
    "school": _label("Мектеп", "Школа", "School"),
    "employee_id": _label("Қызметкердің нөмірі", "Табельный номер", "Employee ID"),
    "position": _label("Лауазымы", "Должность", "Position"),
    "organisation": _label("Ұйым", "Организация", "Organisation"),
    "department": _label("Бөлімше", "Подразделение", "Department"),
    "start_date": _label("Басталған күні", "Дата начала", "Start date"),
    "end_date": _label("Аяқталған күні", "Дата окончания", "End date"),
    "original": _label("Бастапқы транскрипт", "Исходный транскрипт", "Original transcript"),
    "recognition_date": _label("Қайта есептелген күні", "Дата перезачёта",
                               "Date of recognition"),
    "certificate_number": _label("Сертификат нөмірі", "Номер сертификата",
                                 "Certificate number"),
    "course_title": _label("Курс атауы", "Название курса", "Course title"),
    "credits": _label("Кредиттер", "Кредиты", "Credits"),
    "hours": _label("Сағат саны", "Часы", "Hours"),
    "grade": _label("Бағасы", "Оценка", "Grade"),
}

# The standard fields of each type, in the order a document shows them. Line and
# subject fields (course.NN, subject.<code>, recognised.NN) are labelled by pattern.
TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "diploma": ("full_name", "iin", "birth_date", "student_id", "diploma_number",
                "programme", "programme_code", "qualification", "degree", "graduation_date",
                "gpa", "honours", "study_language", "issue_date"),
    "certificate": ("full_name", "iin", "birth_date", "student_id", "certificate_number",
                    "course_title", "programme", "qualification", "credits", "hours",
                    "grade", "issue_date"),
    "transcript": ("full_name", "iin", "birth_date", "student_id", "programme",
                   "programme_code", "issue_date", "gpa", "total_credits"),
    "attestat": ("full_name", "iin", "birth_date", "student_id", "attestat_number", "school",
                 "graduation_date", "honours"),
    "employment": ("full_name", "iin", "employee_id", "position", "organisation",
                   "department", "start_date", "end_date"),
    "recognition": ("full_name", "iin", "student_id", "programme", "original",
                    "recognition_date"),
}

SUBJECT_LABELS: dict[str, Label] = {
    "algebra": _label("Алгебра", "Алгебра", "Algebra"),
    "geometry": _label("Геометрия", "Геометрия", "Geometry"),
    "kazakh_language": _label("Қазақ тілі", "Казахский язык", "Kazakh language"),
    "kazakh_literature": _label("Қазақ әдебиеті", "Казахская литература", "Kazakh literature"),
    "russian_language": _label("Орыс тілі", "Русский язык", "Russian language"),
    "russian_literature": _label("Орыс әдебиеті", "Русская литература", "Russian literature"),
    "english": _label("Ағылшын тілі", "Английский язык", "English"),
    "history_of_kazakhstan": _label("Қазақстан тарихы", "История Казахстана",
                                    "History of Kazakhstan"),
    "world_history": _label("Дүниежүзі тарихы", "Всемирная история", "World history"),
    "physics": _label("Физика", "Физика", "Physics"),
    "chemistry": _label("Химия", "Химия", "Chemistry"),
    "biology": _label("Биология", "Биология", "Biology"),
    "geography": _label("География", "География", "Geography"),
    "informatics": _label("Информатика", "Информатика", "Informatics"),
    "physical_education": _label("Дене шынықтыру", "Физическая культура",
                                 "Physical education"),
}

_LINE = re.compile(r"(course|recognised)\.(\d{2,3})")
_SUBJECT = re.compile(r"subject\.([a-z][a-z0-9_]{0,59})")
_LINE_WORDS = {"course": _label("Пән", "Дисциплина", "Course"),
               "recognised": _label("Қайта есептелген пән", "Перезачтённая дисциплина",
                                    "Recognised course")}
_SUBJECT_WORDS = _label("Пән", "Предмет", "Subject")


def label_of(credential_type: str, name: str) -> Label | None:
    """The label of one field of a document of this type, or None for a field the
    table does not know (an issuer's own field: shown under its name)."""
    if name in TYPE_FIELDS.get(credential_type, ()):
        return dict(FIELD_LABELS[name])
    line = _LINE.fullmatch(name)
    if line:
        words = _LINE_WORDS[line[1]]
        return {lang: f"{words[lang]} {int(line[2])}" for lang in LANGUAGES}
    subject = _SUBJECT.fullmatch(name)
    if subject:
        known = SUBJECT_LABELS.get(subject[1])
        if known:
            return dict(known)
        return {lang: f"{_SUBJECT_WORDS[lang]}: {subject[1]}" for lang in LANGUAGES}
    return None


def labels_for(credential_type: str, names: list[str] | tuple[str, ...]) -> dict[str, Label]:
    """Labels for those of `names` the table knows."""
    found = {}
    for name in names:
        label = label_of(credential_type, name)
        if label is not None:
            found[name] = label
    return found

"""What each page of a person's record shows, read through records.access (the one door).

Every function takes the acting Actor and a Person the actor may open (from portal.context.person_page)
and returns plain data for a template, with the ids of the entries it holds so the access event can say
exactly what was shown. Queries are few and run on the entry indexes (person, occurred_at, id) and
(person, category, occurred_at).
"""

from portal.record.banner import Banner, banner_get
from portal.record.common import current_postcodes_attach
from portal.record.documents import Attachment, attachment_bytes, attachments_of, documents_list, entry_get
from portal.record.results import (
    Cumulative,
    Report,
    Results,
    Trend,
    Value,
    cumulative_get,
    observation_value,
    report_results,
    results_get,
    trend_get,
)
from portal.record.social_care import SocialCare, care_plan_details, social_care_get
from portal.record.summary import Summary, summary_get
from portal.record.timeline import Cursor, TimelinePage, timeline_organisations, timeline_page

__all__ = [
    "Attachment",
    "Banner",
    "Cumulative",
    "Cursor",
    "Report",
    "Results",
    "SocialCare",
    "Summary",
    "TimelinePage",
    "Trend",
    "Value",
    "attachment_bytes",
    "attachments_of",
    "banner_get",
    "care_plan_details",
    "cumulative_get",
    "current_postcodes_attach",
    "documents_list",
    "entry_get",
    "observation_value",
    "report_results",
    "results_get",
    "social_care_get",
    "summary_get",
    "timeline_organisations",
    "timeline_page",
    "trend_get",
]

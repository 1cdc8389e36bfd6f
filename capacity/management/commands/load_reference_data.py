from django.core.management.base import BaseCommand

from capacity.reference import load_reference_data


class Command(BaseCommand):
    help = "Upsert the shipped taxonomy, spec attributes, materials and measurands (keeps operators' additions)."

    def handle(self, *args, **options):
        counts = load_reference_data()
        self.stdout.write(", ".join(f"{n} {k}" for k, n in counts.items()))

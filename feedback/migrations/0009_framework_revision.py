from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('feedback', '0008_assessment_request_outbox'),
    ]

    operations = [
        migrations.AddField(
            model_name='framework',
            name='revision',
            field=models.PositiveIntegerField(default=0),
        ),
    ]
